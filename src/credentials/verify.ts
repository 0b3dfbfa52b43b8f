import type { JsonWebKey } from 'node:crypto';
import type { Catalogue, CredentialFormat, LicenceType } from './catalogue.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { decodeJws, isPublicJwk, verifyJwsSignature, type DecodedJws } from './jws.js';
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

/** What the plain verifier needs from the outside world (the chain, the status lists, the clock). */
export interface VerifierContext {
  catalogue: Catalogue;
  /** The public key `kid` names, if it is an assertion method of `issuer`'s DID document. */
  resolveIssuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  isAuthorised(issuer: string, typeId: string): Promise<boolean>;
  checkStatus(status: unknown, format: CredentialFormat, issuer: string): Promise<StatusOutcome>;
  nowSeconds(): number;
  clockSkewSeconds: number;
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
 * Signature problems end the run: nothing in an unauthenticated payload is worth checking further.
 */
export async function verifyCredential(
  serialized: string,
  context: VerifierContext,
  holderBinding?: HolderBindingExpectations,
): Promise<VerificationResult> {
  const checks = new Checks();
  let format: CredentialFormat;
  let jws: DecodedJws;
  let sdJwt: ParsedSdJwt | undefined;
  try {
    if (serialized.includes('~')) {
      sdJwt = parseSdJwt(serialized);
      jws = decodeJws(sdJwt.jws);
      if (jws.header['typ'] !== 'dc+sd-jwt' && jws.header['typ'] !== 'vc+sd-jwt') {
        return checks.fail('format', `SD-JWT VC typ must be dc+sd-jwt, got ${String(jws.header['typ'])}`);
      }
      format = 'dc+sd-jwt';
    } else {
      jws = decodeJws(serialized);
      format = 'jwt_vc_json';
    }
  } catch (error) {
    return checks.fail('format', (error as Error).message);
  }
  checks.pass('format', format);

  // Who claims to have issued it, and is the key one the issuer's DID document lists for assertions?
  let read: ReturnType<typeof readJwtVc> | undefined;
  if (format === 'jwt_vc_json') {
    try {
      read = readJwtVc(jws.header, jws.payload);
    } catch (error) {
      return checks.fail('format', (error as Error).message);
    }
  }
  const issuer = format === 'dc+sd-jwt' ? jws.payload['iss'] : read!.issuer;
  const kid = jws.header['kid'];
  if (typeof issuer !== 'string' || !issuer.startsWith('did:')) return checks.fail('issuer_key', 'the issuer is not a DID');
  if (typeof kid !== 'string') return checks.fail('issuer_key', 'the JWS header has no kid');
  if (kid.split('#')[0] !== issuer) return checks.fail('issuer_key', `kid ${kid} does not belong to the issuer ${issuer}`);
  const key = await context.resolveIssuerKey(kid, issuer);
  if ('reason' in key) return checks.fail('issuer_key', key.reason);
  checks.pass('issuer_key', kid);

  const signatureProblem = verifyJwsSignature(jws, key.jwk);
  if (signatureProblem) return checks.fail('signature', signatureProblem);
  checks.pass('signature');

  let claims: Record<string, unknown>;
  let type: LicenceType | undefined;
  let validFrom: number | undefined;
  let validUntil: number | undefined;
  let holder: VerifiedCredential['holder'];
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
      const cnfJwk = (cnf as { jwk?: unknown } | undefined)?.jwk;
      holder = isPublicJwk(cnfJwk) ? { jwk: cnfJwk } : undefined;
      status = statusClaim;
      checks.pass('disclosures', `${sdJwt.disclosures.length} disclosed`);
      if (!type) return checks.fail('type', `unknown vct ${String(vct)}`);
    } catch (error) {
      if (error instanceof DisclosureError) return checks.fail('disclosures', error.message);
      throw error;
    }
  } else {
    claims = read!.claims;
    type = context.catalogue.byVcTypes(read!.types);
    validFrom = read!.validFrom;
    validUntil = read!.validUntil;
    const holderJwk = read!.subjectId ? jwkFromDidJwk(read!.subjectId) : undefined;
    holder = read!.subjectId ? { did: read!.subjectId, ...(holderJwk ? { jwk: holderJwk } : {}) } : undefined;
    status = read!.status;
    if (!type) return checks.fail('type', `no catalogue type among ${JSON.stringify(read!.types)}`);
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

  checks.record(
    'issuer_authorised',
    (await context.isAuthorised(issuer, type.id)) ? undefined : `${issuer} is not authorised to issue ${type.id}`,
  );

  if (holderBinding) {
    if (!holder?.jwk) checks.record('holder_binding', 'the credential is not bound to a holder key');
    else if (sdJwt) {
      checks.record(
        'holder_binding',
        verifyKeyBinding(sdJwt, holder.jwk, {
          audience: holderBinding.audience,
          nonce: holderBinding.nonce,
          nowSeconds: now,
          maxAgeSeconds: holderBinding.maxAgeSeconds ?? 300,
          clockSkewSeconds: context.clockSkewSeconds,
        }),
      );
    }
    // JWT VCs are bound through the enclosing presentation; verifyJwtPresentation checks that.
  } else if (sdJwt?.keyBindingJwt) {
    checks.record('holder_binding', 'a key-binding JWT was presented but no audience and nonce were given to check it');
  }

  const statusOutcome = await context.checkStatus(status, format, issuer);
  checks.record('status', statusOutcome.passed ? undefined : (statusOutcome.reason ?? statusOutcome.state), statusOutcome.state);
  if (statusOutcome.anchored !== undefined) checks.list.at(-1)!.anchored = statusOutcome.anchored;

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

/**
 * Verifies a presentation: an SD-JWT VC with its key-binding JWT, or a JWT VP (`vp` claim) signed by the
 * holder's did:jwk carrying JWT VCs bound to that holder.
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
  let vp: DecodedJws;
  try {
    vp = decodeJws(serialized);
  } catch (error) {
    return { ...checks.fail('format', (error as Error).message), credentials: [] };
  }
  const inner = (vp.payload['vp'] as { verifiableCredential?: unknown } | undefined)?.verifiableCredential;
  const embedded = Array.isArray(inner) ? inner : inner === undefined ? [] : [inner];
  if (embedded.length === 0 || !embedded.every((vc) => typeof vc === 'string')) {
    return {
      ...checks.fail('format', 'the presentation has no vp.verifiableCredential list of JWT credentials'),
      credentials: [],
    };
  }
  checks.pass('format', 'jwt_vp');
  const holderDid =
    typeof vp.payload['iss'] === 'string' ? vp.payload['iss'] : (String(vp.header['kid'] ?? '').split('#')[0] ?? '');
  const holderJwk = jwkFromDidJwk(holderDid);
  if (!holderJwk)
    return { ...checks.fail('holder_binding', `the presentation signer ${holderDid} is not a did:jwk`), credentials: [] };
  const now = context.nowSeconds();
  const maxAge = expect.maxAgeSeconds ?? 300;
  const { aud, nonce, iat } = vp.payload;
  const audiences = Array.isArray(aud) ? aud : [aud];
  const problem =
    verifyJwsSignature(vp, holderJwk) ??
    (!audiences.includes(expect.audience)
      ? `the presentation is for audience ${JSON.stringify(aud)}, expected ${expect.audience}`
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
