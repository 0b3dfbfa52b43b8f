import type { JsonWebKey } from 'node:crypto';
import type { Catalogue, CredentialFormat, LicenceType } from './catalogue.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { holderPublicJwk, InvalidHolderKey } from './holder-key.js';
import { decodeJws, verifyJwsSignature, type DecodedJws } from './jws.js';
import { readJwtVc } from './jwt-vc.js';
import { applyDisclosures, DisclosureError, parseSdJwt, verifyKeyBinding, type ParsedSdJwt } from './sd-jwt.js';

export type CheckName =
  | 'format'
  | 'issuer_key'
  | 'signature'
  | 'disclosures'
  | 'type'
  | 'schema'
  | 'validity'
  | 'issuer_authorised'
  | 'holder_binding'
  | 'status';

export interface Check {
  check: CheckName;
  passed: boolean;
  reason?: string;
  /** status only: whether the status lists read were anchored on chain (absent when anchors are not checked). */
  anchored?: boolean;
}

export interface VerifiedCredential {
  format: CredentialFormat;
  dataModel?: '2.0' | '1.1';
  issuer: string;
  type: string;
  vct?: string;
  id?: string;
  /** Claims as disclosed (for SD-JWT, only what the holder revealed). */
  claims: Record<string, unknown>;
  validFrom?: string;
  validUntil?: string;
  holder?: { jwk?: JsonWebKey; did?: string };
  status?: unknown;
}

export interface VerificationResult {
  verified: boolean;
  checks: Check[];
  credential?: VerifiedCredential;
}

export type StatusOutcome = { passed: boolean; state: string; reason?: string; anchored?: boolean };

/**
 * What the plain verifier needs from the outside world (the chain, the status lists, the clock). One
 * context per request: the distinct-issuer budget is counted per context object.
 *
 * The async members answer a client's problem with a value (`{ reason }`, `false`) and throw only when
 * the check could not be made (chain or list unreachable): the verifier then fails that check closed
 * with reason `unavailable`, or the `code` of a thrown VerifierDependencyUnavailable.
 */
export interface VerifierContext {
  catalogue: Catalogue;
  /** Cheap, local check of an issuer DID (method, network) run before anything touches the chain. */
  issuerProblem?(issuer: string): string | undefined;
  /** The public key `kid` names, if it is an assertion method of `issuer`'s DID document. */
  resolveIssuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  isAuthorised(issuer: string, typeId: string): Promise<boolean>;
  checkStatus(status: unknown, format: CredentialFormat, issuer: string): Promise<StatusOutcome>;
  nowSeconds(): number;
  clockSkewSeconds: number;
  /** Default KB-JWT / JWT VP `iat` window when the caller gives none (HOLDER_PROOF_MAX_AGE_SECONDS). */
  holderProofMaxAgeSeconds?: number;
  limits?: Partial<VerifierLimits>;
}

export interface VerifierLimits {
  /** Characters of one serialized credential or presentation, checked before any decoding. */
  maxSerializedLength: number;
  /** JWT VCs in one JWT VP (VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION). */
  maxCredentialsPerPresentation: number;
  /** Distinct issuer DIDs resolved with one context, i.e. in one request (VERIFIER_MAX_ISSUERS_PER_REQUEST). */
  maxIssuersPerRequest: number;
}

export const DEFAULT_VERIFIER_LIMITS: VerifierLimits = {
  maxSerializedLength: 65_536,
  maxCredentialsPerPresentation: 10,
  maxIssuersPerRequest: 5,
};

/** RFC 9901 KB-JWTs and JWT VPs older than this are refused (HOLDER_PROOF_MAX_AGE_SECONDS). */
export const DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS = 60;

/**
 * Thrown by a VerifierContext member when a dependency could not answer (e.g. the chain refused the
 * connection); `code` becomes the failed check's reason, e.g. `chain_unavailable`.
 */
export class VerifierDependencyUnavailable extends Error {
  constructor(readonly code: string = 'unavailable') {
    super(code);
    this.name = 'VerifierDependencyUnavailable';
  }
}

/** Runs a context call; a throw becomes the reason of a check that could not be completed (fail closed). */
async function attempt<T>(call: () => Promise<T>): Promise<{ value: T } | { unavailable: string }> {
  try {
    return { value: await call() };
  } catch (error) {
    return { unavailable: error instanceof VerifierDependencyUnavailable ? error.code : 'unavailable' };
  }
}

const limitsOf = (context: VerifierContext): VerifierLimits => ({ ...DEFAULT_VERIFIER_LIMITS, ...context.limits });

const issuersSeen = new WeakMap<VerifierContext, Set<string>>();

/** Counts `issuer` against the context's distinct-issuer budget; a reason when it is exhausted. */
function issuerBudgetProblem(context: VerifierContext, issuer: string): string | undefined {
  let seen = issuersSeen.get(context);
  if (!seen) issuersSeen.set(context, (seen = new Set()));
  if (seen.has(issuer)) return undefined;
  const max = limitsOf(context).maxIssuersPerRequest;
  if (seen.size >= max) return `more than ${max} distinct issuers in one request`;
  seen.add(issuer);
  return undefined;
}

/** The holder key of a credential: only public members of an advertised holder algorithm (ES256). */
function holderKeyOf(value: unknown): { jwk: JsonWebKey } | { problem: string } {
  try {
    return { jwk: holderPublicJwk(value) };
  } catch (error) {
    return { problem: error instanceof InvalidHolderKey ? error.message : 'the key is invalid' };
  }
}

export interface HolderBindingExpectations {
  audience: string;
  nonce: string;
  maxAgeSeconds?: number;
}

class Checks {
  readonly list: Check[] = [];
  pass(check: CheckName, reason?: string): void {
    this.list.push(reason ? { check, passed: true, reason } : { check, passed: true });
  }
  fail(check: CheckName, reason: string): VerificationResult {
    this.list.push({ check, passed: false, reason });
    return { verified: false, checks: this.list };
  }
  record(check: CheckName, problem: string | undefined, passReason?: string): boolean {
    if (problem) this.list.push({ check, passed: false, reason: problem });
    else this.pass(check, passReason);
    return !problem;
  }
}

const isoSeconds = (value: number | undefined) => (value === undefined ? undefined : new Date(value * 1000).toISOString());

/**
 * Verifies one credential (SD-JWT VC, or JWT VC in data model 2.0 or 1.1) and reports every check.
 * Cheap checks run before expensive ones: size and structure, the issuer DID's form, then whether the
 * registry authorises the issuer for the claimed type (one cached read) before its DID document is
 * resolved, the signature checked, disclosures walked or a status list fetched. Signature problems end
 * the run: nothing in an unauthenticated payload is worth checking further. A check whose dependency
 * could not answer fails closed (`unavailable` / `chain_unavailable`) instead of failing the request.
 */
export async function verifyCredential(
  serialized: string,
  context: VerifierContext,
  holderBinding?: HolderBindingExpectations,
): Promise<VerificationResult> {
  const checks = new Checks();
  const limits = limitsOf(context);
  if (serialized.length > limits.maxSerializedLength)
    return checks.fail('format', `the credential is longer than ${limits.maxSerializedLength} characters`);
  let format: CredentialFormat;
  let jws: DecodedJws;
  let sdJwt: ParsedSdJwt | undefined;
  let read: ReturnType<typeof readJwtVc> | undefined;
  try {
    // decodeJws bounds depth and size of header and payload and refuses repeated members and crit.
    if (serialized.includes('~')) {
      sdJwt = parseSdJwt(serialized);
      jws = decodeJws(sdJwt.jws);
      if (jws.header['typ'] !== 'dc+sd-jwt' && jws.header['typ'] !== 'vc+sd-jwt') {
        return checks.fail('format', `SD-JWT VC typ must be dc+sd-jwt, got ${String(jws.header['typ']).slice(0, 40)}`);
      }
      format = 'dc+sd-jwt';
    } else {
      jws = decodeJws(serialized);
      format = 'jwt_vc_json';
      read = readJwtVc(jws.header, jws.payload);
    }
  } catch (error) {
    return checks.fail('format', (error as Error).message);
  }
  checks.pass('format', format);

  // Who claims to have issued it, and is the key one the issuer's DID document lists for assertions?
  const issuer = format === 'dc+sd-jwt' ? jws.payload['iss'] : read!.issuer;
  const kid = jws.header['kid'];
  if (typeof issuer !== 'string' || !issuer.startsWith('did:')) return checks.fail('issuer_key', 'the issuer is not a DID');
  if (typeof kid !== 'string') return checks.fail('issuer_key', 'the JWS header has no kid');
  if (kid.split('#')[0] !== issuer) return checks.fail('issuer_key', `kid ${kid} does not belong to the issuer ${issuer}`);
  const issuerProblem = context.issuerProblem?.(issuer);
  if (issuerProblem) return checks.fail('issuer_key', issuerProblem);

  // The registry first: an issuer nobody authorised (did:ethr is permissionless) costs one cached read,
  // not a DID resolution, a signature check, a disclosure walk and a status fetch.
  const claimedVct = jws.payload['vct'];
  const claimedType = sdJwt
    ? typeof claimedVct === 'string'
      ? context.catalogue.byVct(claimedVct)
      : undefined
    : context.catalogue.byVcTypes(read!.types);
  const authorisation = async (typeId: string): Promise<string | undefined> => {
    const outcome = await attempt(() => context.isAuthorised(issuer, typeId));
    if ('unavailable' in outcome) return outcome.unavailable;
    return outcome.value ? undefined : `${issuer} is not authorised to issue ${typeId}`;
  };
  const authorisationProblem = claimedType ? await authorisation(claimedType.id) : undefined;
  if (authorisationProblem) return checks.fail('issuer_authorised', authorisationProblem);

  const budgetProblem = issuerBudgetProblem(context, issuer);
  if (budgetProblem) return checks.fail('issuer_key', budgetProblem);
  const resolved = await attempt(() => context.resolveIssuerKey(kid, issuer));
  if ('unavailable' in resolved) return checks.fail('issuer_key', resolved.unavailable);
  const key = resolved.value;
  if ('reason' in key) return checks.fail('issuer_key', key.reason);
  checks.pass('issuer_key', kid);

  // Every issuer on our chain signs low-S, so a high-S twin can only be a malleated copy.
  const signatureProblem = verifyJwsSignature(jws, key.jwk, { rejectHighS: true });
  if (signatureProblem) return checks.fail('signature', signatureProblem);
  checks.pass('signature');

  let claims: Record<string, unknown>;
  let type: LicenceType | undefined;
  let validFrom: number | undefined;
  let validUntil: number | undefined;
  let holder: VerifiedCredential['holder'];
  /** Why the credential's own holder key is unacceptable (private members, curve not advertised). */
  let holderKeyProblem: string | undefined;
  let status: unknown;
  if (sdJwt) {
    try {
      const disclosed = applyDisclosures(jws.payload, sdJwt.disclosures);
      const { vct, iat, nbf, exp, cnf, status: statusClaim, ...rest } = disclosed;
      // Registered JWT claims describe the credential, not the subject.
      for (const registered of ['iss', 'sub', 'jti', 'aud']) delete rest[registered];
      claims = rest;
      type = typeof vct === 'string' ? context.catalogue.byVct(vct) : undefined;
      validFrom = typeof nbf === 'number' ? nbf : typeof iat === 'number' ? iat : undefined;
      validUntil = typeof exp === 'number' ? exp : undefined;
      if (cnf !== undefined) {
        const cnfJwk = (cnf as { jwk?: unknown } | null)?.jwk;
        const holderKey = holderKeyOf(cnfJwk);
        if ('jwk' in holderKey) holder = { jwk: holderKey.jwk };
        else holderKeyProblem = `the credential's holder key (cnf.jwk) is refused: ${holderKey.problem}`;
      }
      status = statusClaim;
      checks.pass('disclosures', `${sdJwt.disclosures.length} disclosed`);
      if (!type) return checks.fail('type', `unknown vct ${String(vct).slice(0, 200)}`);
    } catch (error) {
      if (error instanceof DisclosureError) return checks.fail('disclosures', error.message);
      throw error;
    }
  } else {
    claims = read!.claims;
    type = claimedType;
    validFrom = read!.validFrom;
    validUntil = read!.validUntil;
    const subjectId = read!.subjectId;
    if (subjectId?.startsWith('did:jwk:')) {
      const holderJwk = jwkFromDidJwk(subjectId);
      if (holderJwk) holder = { did: subjectId, jwk: holderJwk };
      else holderKeyProblem = 'the credential subject did:jwk is not an accepted holder key (public ES256 P-256 key)';
    } else if (subjectId !== undefined) holder = { did: subjectId };
    status = read!.status;
    if (!type) return checks.fail('type', `no catalogue type among ${JSON.stringify(read!.types).slice(0, 200)}`);
  }
  checks.pass('type', type.id);

  const violations = context.catalogue.validateClaims(type.id, claims, sdJwt ? 'partial' : 'full');
  checks.record('schema', violations.length ? violations.map((v) => `${v.path}: ${v.message}`).join('; ') : undefined);

  const now = context.nowSeconds();
  checks.record(
    'validity',
    validUntil === undefined
      ? 'the credential has no expiry'
      : // exp is the first second the credential is no longer valid (RFC 7519 §4.1.4).
        validUntil + context.clockSkewSeconds <= now
        ? `expired at ${isoSeconds(validUntil)}`
        : validFrom !== undefined && validFrom - context.clockSkewSeconds > now
          ? `not valid before ${isoSeconds(validFrom)}`
          : undefined,
  );

  // Asked above for the claimed type; again only if the disclosed vct named another one.
  const authorisedProblem = type.id === claimedType?.id ? undefined : await authorisation(type.id);
  checks.record('issuer_authorised', authorisedProblem);

  if (holderKeyProblem) {
    // Whether or not binding was asked for: a credential naming a private or unsupported key is unusable.
    checks.record('holder_binding', holderKeyProblem);
  } else if (holderBinding) {
    if (!holder?.jwk) checks.record('holder_binding', 'the credential is not bound to a holder key');
    else if (sdJwt) {
      checks.record(
        'holder_binding',
        verifyKeyBinding(sdJwt, holder.jwk, {
          audience: holderBinding.audience,
          nonce: holderBinding.nonce,
          nowSeconds: now,
          maxAgeSeconds: holderBinding.maxAgeSeconds ?? context.holderProofMaxAgeSeconds ?? DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
          clockSkewSeconds: context.clockSkewSeconds,
        }),
      );
    }
    // JWT VCs are bound through the enclosing presentation; verifyJwtPresentation checks that.
  } else if (sdJwt?.keyBindingJwt) {
    checks.record('holder_binding', 'a key-binding JWT was presented but no audience and nonce were given to check it');
  }

  // No status fetch for a credential from an issuer the registry does not (or could not) vouch for.
  if (authorisedProblem === undefined) {
    const statusOutcome = await attempt(() => context.checkStatus(status, format, issuer));
    if ('unavailable' in statusOutcome) checks.record('status', statusOutcome.unavailable);
    else {
      const outcome = statusOutcome.value;
      checks.record('status', outcome.passed ? undefined : (outcome.reason ?? outcome.state), outcome.state);
      if (outcome.anchored !== undefined) checks.list.at(-1)!.anchored = outcome.anchored;
    }
  }

  const credential: VerifiedCredential = {
    format,
    ...(read ? { dataModel: read.dataModel } : {}),
    issuer,
    type: type.id,
    ...(sdJwt ? { vct: type.vct } : {}),
    ...(read?.id ? { id: read.id } : {}),
    claims,
    ...(validFrom !== undefined ? { validFrom: isoSeconds(validFrom) } : {}),
    ...(validUntil !== undefined ? { validUntil: isoSeconds(validUntil) } : {}),
    ...(holder ? { holder } : {}),
    ...(status !== undefined ? { status } : {}),
  };
  return { verified: checks.list.every((check) => check.passed), checks: checks.list, credential };
}

export interface PresentationResult {
  verified: boolean;
  checks: Check[];
  holder?: string;
  credentials: VerificationResult[];
}

/** JWT VP `typ` values we accept: `vp+jwt` (VC-JOSE-COSE) and `JWT` (VCDM 1.1, did-jwt-vc). */
const JWT_VP_TYPES = ['vp+jwt', 'JWT'];

/**
 * Verifies a presentation: an SD-JWT VC with its key-binding JWT, or a JWT VP (`vp` claim) signed by the
 * holder's did:jwk carrying JWT VCs bound to that holder.
 *
 * Holder signatures (KB-JWT, JWT VP) are not refused for high-S: WebCrypto and OpenSSL-based wallets
 * produce high-S ECDSA signatures half the time, and a malleated copy gains nothing because each
 * presentation is bound to our nonce and audience and checked for freshness.
 */
export async function verifyPresentation(
  serialized: string,
  expect: HolderBindingExpectations,
  context: VerifierContext,
): Promise<PresentationResult> {
  if (serialized.includes('~')) {
    const result = await verifyCredential(serialized, context, expect);
    return { verified: result.verified, checks: result.checks, credentials: [result] };
  }
  const checks = new Checks();
  const limits = limitsOf(context);
  if (serialized.length > limits.maxSerializedLength) {
    return {
      ...checks.fail('format', `the presentation is longer than ${limits.maxSerializedLength} characters`),
      credentials: [],
    };
  }
  let vp: DecodedJws;
  try {
    vp = decodeJws(serialized);
  } catch (error) {
    return { ...checks.fail('format', (error as Error).message), credentials: [] };
  }
  if (!JWT_VP_TYPES.includes(vp.header['typ'] as string)) {
    return {
      ...checks.fail('format', `a JWT presentation must have typ vp+jwt or JWT, got ${String(vp.header['typ']).slice(0, 40)}`),
      credentials: [],
    };
  }
  const inner = (vp.payload['vp'] as { verifiableCredential?: unknown } | undefined)?.verifiableCredential;
  const embedded = Array.isArray(inner) ? inner : inner === undefined ? [] : [inner];
  if (embedded.length === 0 || !embedded.every((vc) => typeof vc === 'string')) {
    return {
      ...checks.fail('format', 'the presentation has no vp.verifiableCredential list of JWT credentials'),
      credentials: [],
    };
  }
  if (embedded.length > limits.maxCredentialsPerPresentation) {
    return {
      ...checks.fail('format', `the presentation carries more than ${limits.maxCredentialsPerPresentation} credentials`),
      credentials: [],
    };
  }
  checks.pass('format', 'jwt_vp');
  const holderDid =
    typeof vp.payload['iss'] === 'string' ? vp.payload['iss'] : (String(vp.header['kid'] ?? '').split('#')[0] ?? '');
  const holderJwk = jwkFromDidJwk(holderDid);
  if (!holderJwk) {
    return {
      ...checks.fail('holder_binding', 'the presentation signer is not a did:jwk of an accepted holder key (public ES256)'),
      credentials: [],
    };
  }
  const now = context.nowSeconds();
  const maxAge = expect.maxAgeSeconds ?? context.holderProofMaxAgeSeconds ?? DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS;
  const { aud, nonce, iat } = vp.payload;
  const audiences = Array.isArray(aud) ? aud : [aud];
  const problem =
    verifyJwsSignature(vp, holderJwk) ??
    (!audiences.includes(expect.audience)
      ? `the presentation is for audience ${JSON.stringify(aud).slice(0, 200)}, expected ${expect.audience}`
      : undefined) ??
    (nonce !== expect.nonce ? 'the presentation nonce does not match' : undefined) ??
    (typeof iat !== 'number' || iat > now + context.clockSkewSeconds || iat < now - maxAge
      ? 'the presentation iat is missing or not fresh'
      : undefined);
  if (problem) return { ...checks.fail('holder_binding', problem), holder: holderDid, credentials: [] };

  const credentials: VerificationResult[] = [];
  for (const vc of embedded as string[]) {
    const result = await verifyCredential(vc, context);
    const subject = result.credential?.holder?.did;
    result.checks.push(
      subject === holderDid
        ? { check: 'holder_binding', passed: true }
        : {
            check: 'holder_binding',
            passed: false,
            reason: `the credential is bound to ${subject ?? 'nobody'}, not to the presenter`,
          },
    );
    result.verified = result.checks.every((check) => check.passed);
    credentials.push(result);
  }
  checks.pass('holder_binding', holderDid);
  return {
    verified: credentials.every((result) => result.verified),
    checks: checks.list,
    holder: holderDid,
    credentials,
  };
}
