import type { JsonWebKey } from 'node:crypto';
import { untrustedText } from '../common/json-bounds.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { findVerificationMethod, offlineDidDocument, verificationMethodJwk } from './dids.js';
import { decodeJws, proofForAnotherRequest, timeClaimsProblem, type DecodedJws } from './jws.js';
import { applyDisclosures, DisclosureError, parseSdJwt } from './sd-jwt.js';
import { envelopeKind, validatePresentation, VCDM2_CONTEXT } from './vcdm2.js';
import { verifyCredential } from './verify.js';
import {
  attempt,
  Checks,
  checkJwsSignature,
  DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
  limitsOf,
  violationsReason,
  type Check,
  type HolderBindingExpectations,
  type HolderProofProblem,
  type VerificationResult,
  type VerifierContext,
} from './verify-common.js';
import { verifyCredentialDocument } from './verify-document.js';
import { merged } from '../common/merged.js';

export interface PresentationResult {
  verified: boolean;
  checks: Check[];
  holder?: string;
  credentials: VerificationResult[];
}

export interface PresentationExpectations extends HolderBindingExpectations {
  /**
   * Every credential must be bound to the presenter (OID4VP, the default). VC-API leaves that business rule
   * to the caller: with `false` only a credential bound to another key is refused.
   */
  requireBoundCredentials?: boolean;
}

/** JWT VP `typ` values: `vp+jwt` (VC-JOSE-COSE; the payload is the presentation) and `JWT` (VCDM 1.1 `vp` claim). */
const JWT_VP_TYPES = ['vp+jwt', 'JWT'];

const failed = (
  checks: Checks,
  check: Check['check'],
  problem: string | HolderProofProblem,
  holder?: string,
): PresentationResult => {
  const { reason, ...extra } = typeof problem === 'string' ? { reason: problem } : problem;
  return merged(checks.fail(check, reason, extra), holder ? { holder, credentials: [] } : { credentials: [] });
};

/** Holder DIDs whose key the DID itself carries; a credential bound to one must be presented with that key. */
const keyBoundDid = (did: string | undefined) => did?.startsWith('did:jwk:') || did?.startsWith('did:key:');

/**
 * The key a holder signed a presentation with: did:jwk and did:key offline (ES256 or EdDSA), did:ethr and
 * did:web through the context's resolver (the `kid` must be an authentication method).
 */
export async function holderKey(
  holder: string,
  kid: unknown,
  context: VerifierContext,
): Promise<{ jwk: JsonWebKey } | { problem: string }> {
  if (holder.startsWith('did:jwk:')) {
    const jwk = jwkFromDidJwk(holder, ['ES256', 'EdDSA']);
    return jwk ? { jwk } : { problem: 'the holder did:jwk is not an accepted key' };
  }
  const offline = offlineDidDocument(holder);
  const outcome = offline
    ? { value: offline }
    : context.resolveDid
      ? await attempt(() => context.resolveDid!(holder))
      : { value: undefined };
  if ('unavailable' in outcome) return { problem: outcome.unavailable };
  const document = outcome.value;
  // Reasons reach relying parties, also for presentations they do not get: no holder identifier in them.
  if (!document) return { problem: 'the holder DID could not be resolved' };
  const methodId =
    typeof kid === 'string' ? (kid.startsWith('#') ? `${holder}${kid}` : kid) : document.verificationMethod?.[0]?.id;
  if (typeof kid === 'string' && methodId!.split('#')[0] !== holder)
    return { problem: 'the presentation kid does not belong to the holder' };
  const method = methodId ? findVerificationMethod(document, methodId, 'authentication') : undefined;
  const jwk = method && verificationMethodJwk(method);
  return jwk ? { jwk } : { problem: `${untrustedText(methodId, 200)} is not an authentication method of the holder` };
}

/** Challenge (nonce), domain (aud) and freshness of a holder-signed JWT; all optional unless asked for. */
function bindingProblem(
  payload: Record<string, unknown>,
  expect: HolderBindingExpectations,
  context: VerifierContext,
): string | HolderProofProblem | undefined {
  const now = context.nowSeconds();
  // A JWT VP dated by nbf alone (VCDM 1.1 §6.3.1 maps dates to nbf; iat is optional there) is as fresh as its nbf.
  const iat = payload['iat'] === undefined ? payload['nbf'] : payload['iat'];
  const elsewhere = proofForAnotherRequest(payload, expect, 'the presentation');
  if (elsewhere) return elsewhere;
  if (expect.nonce !== undefined) {
    // A single-use nonce of ours makes it fresh (OID4VP 1.0 B.1.3.1 asks only nonce and aud of a jwt_vc_json
    // presentation, and VCDM 1.1 makes iat and nbf optional); a caller's challenge may be reused, so then a date is
    // required. A date it does carry must be recent.
    const maxAge = expect.maxAgeSeconds ?? context.holderProofMaxAgeSeconds ?? DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS;
    if (iat === undefined) {
      if (!expect.nonceSingleUse) return 'the presentation has no iat or nbf';
    } else if (typeof iat !== 'number' || iat > now + context.clockSkewSeconds || iat < now - maxAge) {
      return 'the presentation iat is not fresh';
    }
  }
  if (typeof iat === 'number' && iat > now + context.clockSkewSeconds) return 'the presentation is issued in the future';
  // RFC 7519 §4.1.4–5: not before its nbf (also when an iat dates it), not at or after its exp.
  const time = timeClaimsProblem(payload, now, context.clockSkewSeconds);
  if (time === 'not yet valid') return 'the presentation is not valid yet (nbf)';
  if (time === 'expired') return 'the presentation has expired';
  return undefined;
}

/** Checks each presented credential's holder against the presenter and adds a holder_binding check. */
export function bindToPresenter(
  result: VerificationResult,
  presenter: string | undefined,
  expect: PresentationExpectations,
): VerificationResult {
  const subject = result.credential?.holder?.did;
  const strict = expect.requireBoundCredentials ?? true;
  const check: Check =
    subject !== undefined && subject === presenter
      ? { check: 'holder_binding', passed: true }
      : !strict && !keyBoundDid(subject)
        ? { check: 'holder_binding', passed: true, reason: 'the credential is not bound to a holder key' }
        : {
            check: 'holder_binding',
            passed: false,
            // No DID in the reason: it reaches the relying party even for a presentation discarded from its verdict.
            reason:
              subject === undefined
                ? 'the credential is bound to nobody, not to the presenter'
                : 'the credential is bound to another holder than the presenter',
          };
  result.checks.push(check);
  return merged(result, { verified: result.checks.every((c) => c.passed) });
}

/**
 * Verifies a compact presentation: an SD-JWT VC with its key-binding JWT; a VCDM 2.0 `vp+jwt` whose payload
 * is the presentation (EnvelopedVerifiableCredential entries); a `vp+sd-jwt`; or a VCDM 1.1 JWT VP (`vp`
 * claim with JWT VCs). Holders are did:jwk, did:key or resolvable DIDs; the challenge and domain are
 * checked when given.
 *
 * Holder signatures are not refused for high-S: WebCrypto and OpenSSL-based wallets produce high-S ECDSA
 * signatures half the time, and a malleated copy gains nothing because each presentation is bound to our
 * nonce and audience and checked for freshness.
 */
export async function verifyPresentation(
  serialized: string,
  expect: PresentationExpectations,
  context: VerifierContext,
): Promise<PresentationResult> {
  const checks = new Checks();
  const limits = limitsOf(context);
  if (serialized.length > limits.maxSerializedLength)
    return failed(checks, 'format', `the presentation is longer than ${limits.maxSerializedLength} characters`);
  let header: Record<string, unknown> | undefined;
  try {
    header = decodeJws(serialized.split('~')[0]!).header;
  } catch {
    header = undefined;
  }
  if (serialized.includes('~') && header?.['typ'] !== 'vp+sd-jwt') {
    const result = await verifyCredential(serialized, context, expect);
    return { verified: result.verified, checks: result.checks, credentials: [result] };
  }
  let vp: DecodedJws;
  let payload: Record<string, unknown>;
  try {
    if (serialized.includes('~')) {
      const sdJwt = parseSdJwt(serialized);
      vp = decodeJws(sdJwt.jws);
      payload = applyDisclosures(vp.payload, sdJwt.disclosures);
    } else {
      vp = decodeJws(serialized);
      payload = vp.payload;
    }
  } catch (error) {
    return failed(checks, error instanceof DisclosureError ? 'disclosures' : 'format', (error as Error).message);
  }
  // VCDM 1.1's JWT encoding makes typ optional: none, with a `vp` claim, reads as JWT (as credentials do, jwt-vc.ts).
  const typ = vp.header['typ'] === undefined && 'vp' in payload ? 'JWT' : vp.header['typ'];
  if (typ !== 'vp+sd-jwt' && !JWT_VP_TYPES.includes(typ as string))
    return failed(checks, 'format', `a JWT presentation must have typ vp+jwt, vp+sd-jwt or JWT, got ${untrustedText(typ)}`);
  // VC-JOSE-COSE: the payload is the presentation; VCDM 1.1: the `vp` claim is.
  const vcdm2 = typ !== 'JWT' && !('vp' in payload) && Array.isArray(payload['@context']);
  const presentation = (vcdm2 ? payload : payload['vp']) as Record<string, unknown> | undefined;
  if (typeof presentation !== 'object' || presentation === null)
    return failed(checks, 'format', 'the JWT carries no presentation (no vp claim)');
  if (vcdm2 || (Array.isArray(presentation['@context']) && presentation['@context'][0] === VCDM2_CONTEXT)) {
    const { cnf: _cnf, ...document } = presentation;
    const violations = validatePresentation(document);
    if (violations.length)
      return merged(checks.fail('data_model', violationsReason(violations), { violations }), { credentials: [] });
  }
  const inner = presentation['verifiableCredential'];
  const embedded = Array.isArray(inner) ? inner : inner === undefined ? [] : [inner];
  if (
    embedded.length === 0 ||
    !embedded.every((vc) => typeof vc === 'string' || envelopeKind(vc) === 'EnvelopedVerifiableCredential')
  )
    return failed(
      checks,
      'format',
      'the presentation holds no secured credentials (JWTs or EnvelopedVerifiableCredential objects)',
    );
  if (embedded.length > limits.maxCredentialsPerPresentation)
    return failed(checks, 'format', `the presentation carries more than ${limits.maxCredentialsPerPresentation} credentials`);
  checks.pass('format', vcdm2 ? String(typ) : 'jwt_vp');

  const holderValue = presentation['holder'];
  const holderDid =
    typeof payload['iss'] === 'string'
      ? payload['iss']
      : typeof holderValue === 'string'
        ? holderValue
        : typeof (holderValue as { id?: unknown } | undefined)?.id === 'string'
          ? (holderValue as { id: string }).id
          : typeof vp.header['kid'] === 'string'
            ? (vp.header['kid'].split('#')[0] ?? '')
            : '';
  if (!holderDid.startsWith('did:')) return failed(checks, 'holder_binding', 'the presentation names no holder DID');
  const declared = typeof holderValue === 'string' ? holderValue : (holderValue as { id?: unknown } | undefined)?.id;
  if (declared !== undefined && declared !== holderDid)
    return failed(checks, 'holder_binding', 'holder does not match iss', holderDid);
  const key = await holderKey(holderDid, vp.header['kid'], context);
  if ('problem' in key) return failed(checks, 'holder_binding', key.problem, holderDid);
  const problem = (await checkJwsSignature(vp, key.jwk, context)) ?? bindingProblem(payload, expect, context);
  if (problem) return failed(checks, 'holder_binding', problem, holderDid);

  const credentials: VerificationResult[] = [];
  for (const vc of embedded as unknown[]) {
    const result = typeof vc === 'string' ? await verifyCredential(vc, context) : await verifyCredentialDocument(vc, context);
    credentials.push(bindToPresenter(result, holderDid, expect));
  }
  checks.pass('holder_binding', holderDid);
  return { verified: credentials.every((result) => result.verified), checks: checks.list, holder: holderDid, credentials };
}
