import { jsonBoundsProblem, untrustedText } from '../common/json-bounds.js';
import { merged } from '../common/merged.js';
import { finishCredential } from './credential-checks.js';
import { CANONICALISATION_LIMITS } from './data-integrity/canonicalisation.js';
import { BUNDLED_CONTEXTS } from './data-integrity/contexts.js';
import { createDocumentLoader } from './data-integrity/document-loader.js';
import { dataIntegrityProof, verifyCredentialProof, verifyPresentationProof } from './data-integrity/proofs.js';
import { canonicalJson } from './catalogue.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { JWT_PROOF_2020 } from './jwt-vc.js';
import type { DidDocument } from './dids.js';
import { decideIssuer } from './issuer-trust.js';
import { readJosePart } from './jws.js';
import {
  dataModelOf,
  envelopeKind,
  issuerIdOf,
  parseDataUrl,
  validateCredential,
  validateEnvelope,
  validatePresentation,
  VALIDITY_MEMBERS,
  type DataModel,
} from './vcdm2.js';
import { jwtVc11Document, verifyCredential } from './verify.js';
import {
  Checks,
  DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
  isResult,
  limitsOf,
  VerifierDependencyUnavailable,
  violationsReason,
  type VerificationResult,
  type VerifierContext,
} from './verify-common.js';
import {
  bindToPresenter,
  verifyPresentation,
  type PresentationExpectations,
  type PresentationResult,
} from './verify-presentation.js';

/** VC-API `options` that concern a credential's proof. */
export interface CredentialProofOptions {
  expectedProofPurpose?: string;
  challenge?: string;
  domain?: string;
}

type Json = Record<string, unknown>;

/** Data Integrity documents are read in either data model, each by its first context. */
const BOTH_MODELS: readonly DataModel[] = ['2.0', '1.1'];

/** The `typ` each envelope media type requires of its token (VC-JOSE-COSE §3, §6.1). */
const TYP_OF_MEDIA_TYPE: Record<string, (string | undefined)[]> = {
  'application/vc+jwt': ['vc+jwt'],
  'application/vc+sd-jwt': ['vc+sd-jwt'],
  'application/dc+sd-jwt': ['dc+sd-jwt'],
  'application/vp+jwt': ['vp+jwt'],
  'application/vp+sd-jwt': ['vp+sd-jwt'],
  'application/jwt': ['JWT', undefined],
};

/** Opens an envelope: its own rules, then the token's `typ` against the data: URL's media type. */
function openEnvelope(doc: unknown, kind: 'credential' | 'presentation', checks: Checks): string | VerificationResult {
  const violations = validateEnvelope(doc, kind);
  if (violations.length) return checks.fail('data_model', violationsReason(violations), { violations });
  const { mediaType, token } = parseDataUrl((doc as Json)['id'])!;
  const typ = readJosePart(token.split('~')[0]!, 0)?.['typ'];
  if (!TYP_OF_MEDIA_TYPE[mediaType]!.includes(typ as string | undefined))
    return checks.fail('data_model', `the token's typ ${untrustedText(typ)} does not match the media type ${mediaType}`);
  return token;
}

/**
 * A resolver for the Data Integrity document loader that remembers an outage: the loader itself can only
 * fail, so an unreachable chain would otherwise look like a bad proof.
 */
function trackedResolver(context: Pick<VerifierContext, 'resolveDid'>) {
  const state: { unavailable?: string } = {};
  const resolve = async (did: string): Promise<DidDocument | undefined> => {
    try {
      return await context.resolveDid?.(did);
    } catch (error) {
      state.unavailable = error instanceof VerifierDependencyUnavailable ? error.code : 'unavailable';
      return undefined;
    }
  };
  return { state, loader: createDocumentLoader(resolve) };
}

/**
 * Whether a Data Integrity proof names a key of `did` (its verificationMethod, up to the fragment). Checked before
 * the method is resolved, which would otherwise let the sender of a trusted issuer's credential choose where the
 * verifier fetches from (and what it answers 503 for). Stricter than VC Data Integrity, which also accepts a method
 * kept in another DID's document whose controller is the issuer: no issuer we know of does that (ours and the W3C
 * suites' name their own DID's keys), and JOSE credentials are held to the same rule (the kid's DID is the issuer).
 */
const proofSignedBy = (proof: Json, did: unknown) => (proof['verificationMethod'] as string).split('#')[0] === did;
const NOT_THE_ISSUERS_KEY = "the proof's verification method is not a key of the issuer";

/**
 * The Data Integrity proof of a credential its issuer secured for `assertionMethod` (a status list credential served
 * as JSON), its key found by the context's DID resolution; a DID that could not be resolved is thrown as an outage,
 * never answered as a bad proof.
 */
export async function verifyIssuerProof(
  document: Json,
  context: Pick<VerifierContext, 'resolveDid' | 'nowSeconds'>,
): Promise<{ verified: boolean; problem?: string }> {
  // Its caller (the status checker) has already refused a list whose proof names another DID's key.
  const { state, loader } = trackedResolver(context);
  const outcome = await verifyCredentialProof(document, loader, { now: new Date(context.nowSeconds() * 1000) });
  if (state.unavailable) throw new VerifierDependencyUnavailable(state.unavailable);
  return outcome;
}

const dataUrlId = (doc: unknown) => typeof doc === 'object' && doc !== null && parseDataUrl((doc as Json)['id']) !== undefined;

/**
 * Verifies a credential given as JSON (VC-API): an EnvelopedVerifiableCredential (the envelope's rules, the
 * token's typ against its media type, then the token), a credential with a Data Integrity proof
 * (ecdsa-rdfc-2019, eddsa-rdfc-2022), or a compact token as a string.
 */
/** The JWT of a credential whose proof is a JwtProof2020 (a 1.1 JWT VC in JSON form), or undefined. */
function jwtProofOf(doc: unknown): string | undefined {
  const proof = typeof doc === 'object' && doc !== null ? (doc as Json)['proof'] : undefined;
  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) return undefined;
  const { type, jwt } = proof as Json;
  return type === JWT_PROOF_2020 && typeof jwt === 'string' ? jwt : undefined;
}

export async function verifyCredentialDocument(
  doc: unknown,
  context: VerifierContext,
  options: CredentialProofOptions = {},
): Promise<VerificationResult> {
  if (typeof doc === 'string') return verifyCredential(doc, context);
  const checks = new Checks();
  // An envelope's data: URL id makes it one, whatever its type says (a removed or replaced type is refused).
  if (envelopeKind(doc) === 'EnvelopedVerifiableCredential' || dataUrlId(doc)) {
    const token = openEnvelope(doc, 'credential', checks);
    if (isResult(token)) return token;
    return verifyCredential(token, context);
  }
  if (JSON.stringify(doc ?? null).length > limitsOf(context).maxSerializedLength)
    return checks.fail('format', `the credential is longer than ${limitsOf(context).maxSerializedLength} characters`);
  // A VCDM 1.1 JWT in its JSON form (as /credentials/issue answers it): the JWT is what is verified, and the JSON
  // around it must be exactly its view, or a reader of the JSON could be shown claims the JWT does not make.
  const jwtProof = jwtProofOf(doc);
  if (jwtProof !== undefined) {
    const view = jwtVc11Document(jwtProof);
    if (!view || canonicalJson(view) !== canonicalJson(doc))
      return checks.fail('format', `the credential is not the JSON form of the JWT in its ${JWT_PROOF_2020} proof`);
    return verifyCredential(jwtProof, context);
  }
  const violations = validateCredential(doc, { models: BOTH_MODELS });
  if (violations.length) return checks.fail('data_model', violationsReason(violations), { violations });
  const credential = doc as Json;
  const dataModel = dataModelOf(credential);
  const proof = dataIntegrityProof(credential);
  if (!('proof' in proof)) return checks.fail('format', proof.problem ?? 'the credential is not secured');
  checks.pass('format', `ldp_vc ${untrustedText(proof.proof['cryptosuite'])}`);
  checks.pass('data_model', `VCDM ${dataModel}`);

  const issuer = issuerIdOf(credential['issuer']) as string;
  const claimedType = context.catalogue.byVcTypes(credential['type']);
  const decision = await decideIssuer(issuer, undefined, claimedType, context, checks);
  if (isResult(decision)) return decision;
  if (!proofSignedBy(proof.proof, issuer)) return checks.fail('issuer_key', NOT_THE_ISSUERS_KEY);
  const { state, loader } = trackedResolver(context);
  const now = new Date(context.nowSeconds() * 1000);
  const outcome = await verifyCredentialProof(credential, loader, { now, ...options });
  if (state.unavailable) return checks.fail('issuer_key', state.unavailable);
  if (!outcome.verified) return checks.fail(outcome.kind === 'malformed' ? 'format' : 'signature', outcome.problem!);
  checks.pass('issuer_key', outcome.verificationMethod);
  checks.pass('signature', untrustedText(proof.proof['cryptosuite']));

  const subjects = [credential['credentialSubject']].flat() as Json[];
  const { id: subjectId, ...claims } = subjects[0]!;
  const holderDid = typeof subjectId === 'string' ? subjectId : undefined;
  const holderJwk = holderDid?.startsWith('did:jwk:') ? jwkFromDidJwk(holderDid) : undefined;
  const seconds = (value: unknown) => (typeof value === 'string' ? Math.floor(Date.parse(value) / 1000) : undefined);
  // VCDM 1.1 §4.6: issuanceDate is when the credential becomes valid, expirationDate when it stops.
  const { from, until } = VALIDITY_MEMBERS[dataModel];
  return finishCredential(
    checks,
    {
      format: 'ldp_vc',
      dataModel,
      issuer,
      id: typeof credential['id'] === 'string' ? credential['id'] : undefined,
      type: claimedType,
      ambiguousType: context.catalogue.specificTypesNamed(credential['type']).length > 1,
      unknownTypeReason: `no catalogue type among ${JSON.stringify(credential['type']).slice(0, 200)}`,
      claims: subjects.length > 1 ? { credentialSubject: subjects } : claims,
      validFrom: seconds(credential[from]),
      validUntil: seconds(credential[until]),
      ...(holderDid ? { holder: holderJwk ? { did: holderDid, jwk: holderJwk } : { did: holderDid } } : {}),
      status: credential['credentialStatus'],
      claimedTypeId: claimedType?.id,
    },
    decision,
    context,
  );
}

/**
 * Verifies a presentation given as JSON (VC-API): an EnvelopedVerifiablePresentation, a presentation with a
 * Data Integrity proof (`authentication`, its challenge and domain), an unsigned presentation when no
 * challenge is asked for, or a compact token as a string. Each credential inside is verified on its own.
 */
export async function verifyPresentationDocument(
  doc: unknown,
  expect: PresentationExpectations,
  context: VerifierContext,
): Promise<PresentationResult> {
  if (typeof doc === 'string') return verifyPresentation(doc, expect, context);
  const checks = new Checks();
  if (envelopeKind(doc) === 'EnvelopedVerifiablePresentation' || dataUrlId(doc)) {
    const token = openEnvelope(doc, 'presentation', checks);
    if (isResult(token)) return merged(token, { credentials: [] });
    return verifyPresentation(token, expect, context);
  }
  const limits = limitsOf(context);
  if (JSON.stringify(doc ?? null).length > limits.maxSerializedLength)
    return merged(checks.fail('format', `the presentation is longer than ${limits.maxSerializedLength} characters`), {
      credentials: [],
    });
  // One budget for the whole presentation (ADR 35): its own proof's canonicalisation covers every embedded credential,
  // and each of theirs is bounded alone, so ten credentials of 1,000 members each would cost ten budgets.
  const { maxMembers } = CANONICALISATION_LIMITS;
  if (jsonBoundsProblem(doc, { maxDepth: 32, maxNodes: maxMembers }))
    return merged(checks.fail('format', `the presentation has more than ${maxMembers} JSON members`), { credentials: [] });
  const violations = validatePresentation(doc, { models: BOTH_MODELS });
  if (violations.length)
    return merged(checks.fail('data_model', violationsReason(violations), { violations }), { credentials: [] });
  const presentation = doc as Json;
  const embedded = [presentation['verifiableCredential'] ?? []].flat();
  if (embedded.length > limits.maxCredentialsPerPresentation)
    return merged(
      checks.fail('format', `the presentation carries more than ${limits.maxCredentialsPerPresentation} credentials`),
      { credentials: [] },
    );
  const holder = issuerIdOf(presentation['holder']) as string | undefined;
  if ('proof' in presentation) {
    const proof = dataIntegrityProof(presentation);
    if (!('proof' in proof)) return merged(checks.fail('format', proof.problem!), { credentials: [] });
    checks.pass('format', `ldp_vp ${untrustedText(proof.proof['cryptosuite'])}`);
    if (holder !== undefined && !proofSignedBy(proof.proof, holder))
      return merged(checks.fail('holder_binding', 'the presentation is not signed by its holder'), { credentials: [] });
    const { state, loader } = trackedResolver(context);
    const outcome = await verifyPresentationProof(presentation, loader, {
      now: new Date(context.nowSeconds() * 1000),
      challenge: expect.nonce,
      domain: expect.audience,
      // A caller's challenge may be used again: a presentation proof dated by created must be recent, as a JWT VP's iat.
      maxAgeSeconds: expect.nonceSingleUse
        ? undefined
        : (expect.maxAgeSeconds ?? context.holderProofMaxAgeSeconds ?? DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS),
      clockSkewSeconds: context.clockSkewSeconds,
    });
    if (state.unavailable) return merged(checks.fail('holder_binding', state.unavailable), { credentials: [] });
    if (!outcome.verified)
      return merged(checks.fail(outcome.kind === 'malformed' ? 'format' : 'holder_binding', outcome.problem!), {
        credentials: [],
      });
    const signer = outcome.verificationMethod?.split('#')[0];
    if (holder !== undefined && signer !== holder)
      return merged(checks.fail('holder_binding', 'the presentation is not signed by its holder'), { credentials: [] });
    // VCDM 2.0 §5.12: a presentation with a self-asserted credential (issued by the presentation's signer) "that is
    // only secured using the same mechanism as the presentation" (no proof of its own) MUST name its holder. One the
    // signer also signed itself is secured on its own, like any other issuer's.
    const selfAsserted = embedded.some(
      (credential) =>
        typeof credential === 'object' &&
        credential !== null &&
        !('proof' in credential) &&
        issuerIdOf((credential as Json)['issuer']) === signer,
    );
    if (holder === undefined && selfAsserted)
      return merged(checks.fail('data_model', 'a presentation of a self-asserted credential must name its holder'), {
        credentials: [],
      });
    checks.pass('holder_binding', signer);
  } else {
    checks.pass('format', 'unsigned presentation');
    // Nothing secures an unsigned presentation's terms and no context is fetched (ADR 12): each context it names must
    // be one we hold (VCDM 2.0 §4.3: every item processable as a JSON-LD context), else its terms could mean anything.
    const unknownContext = [presentation['@context']]
      .flat()
      .find((item) => typeof item === 'string' && !BUNDLED_CONTEXTS.has(item));
    if (unknownContext !== undefined)
      return merged(
        checks.fail(
          'data_model',
          `the @context ${untrustedText(unknownContext)} is not one this verifier holds (none is fetched)`,
        ),
        { credentials: [] },
      );
    if (expect.nonce !== undefined || expect.audience !== undefined)
      return merged(checks.fail('holder_binding', 'a challenge or domain was given but the presentation is not signed'), {
        credentials: [],
      });
    checks.pass('holder_binding', 'unsigned: the holder is not authenticated');
  }
  const presenter = checks.list.find((c) => c.check === 'holder_binding')?.reason;
  const credentials: VerificationResult[] = [];
  for (const credential of embedded) {
    const result = await verifyCredentialDocument(credential, context);
    credentials.push(bindToPresenter(result, presenter?.startsWith('did:') ? presenter : holder, expect));
  }
  return {
    verified: checks.list.every((c) => c.passed) && credentials.every((result) => result.verified),
    checks: checks.list,
    ...(holder ? { holder } : {}),
    credentials,
  };
}
