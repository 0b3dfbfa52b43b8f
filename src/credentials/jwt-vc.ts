/** W3C VC Data Model 2.0 (VC-JOSE-COSE, typ vc+jwt) and 1.1 (JWT `vc` claim, did-jwt-vc compatible). */
import { VCDM11_CONTEXT, VCDM2_CONTEXT, type DataModel } from './vcdm2.js';
import { merged } from '../common/merged.js';
import { untrustedText } from '../common/json-bounds.js';

export { VCDM11_CONTEXT, VCDM2_CONTEXT, type DataModel };
/** The Bitstring Status List context for VCDM 1.1 credentials (v2 defines its terms itself). */
export const STATUS_LIST_V1_CONTEXT = 'https://www.w3.org/ns/credentials/status/v1';

export interface JwtVcContent {
  id: string;
  issuer: string;
  vcType: string;
  validFrom: Date;
  validUntil: Date;
  /** Holder DID (did:jwk of the wallet key) when the credential is bound to a holder. */
  subjectId: string | undefined;
  claims: Record<string, unknown>;
  status?: unknown;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function jwtVcPayload(
  model: DataModel,
  content: JwtVcContent,
): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const subject = merged(content.subjectId ? { id: content.subjectId } : {}, content.claims);
  const status = content.status === undefined ? {} : { credentialStatus: content.status };
  if (model === '2.0') {
    return {
      header: { typ: 'vc+jwt', cty: 'vc' },
      payload: {
        '@context': [VCDM2_CONTEXT],
        id: content.id,
        type: ['VerifiableCredential', content.vcType],
        issuer: content.issuer,
        validFrom: iso(content.validFrom),
        validUntil: iso(content.validUntil),
        credentialSubject: subject,
        ...status,
        // Registered claims mirror the credential so that plain JWT libraries check issuer and expiry too.
        iss: content.issuer,
        jti: content.id,
        iat: seconds(content.validFrom),
        exp: seconds(content.validUntil),
        ...(content.subjectId ? { sub: content.subjectId } : {}),
      },
    };
  }
  return {
    header: { typ: 'JWT' },
    payload: {
      iss: content.issuer,
      ...(content.subjectId ? { sub: content.subjectId } : {}),
      jti: content.id,
      nbf: seconds(content.validFrom),
      iat: seconds(content.validFrom),
      exp: seconds(content.validUntil),
      vc: {
        '@context': content.status === undefined ? [VCDM11_CONTEXT] : [VCDM11_CONTEXT, STATUS_LIST_V1_CONTEXT],
        type: ['VerifiableCredential', content.vcType],
        credentialSubject: content.claims,
        ...status,
      },
    },
  };
}

export interface ReadJwtVc {
  dataModel: DataModel;
  id: string | undefined;
  issuer: unknown;
  types: unknown;
  subjectId: string | undefined;
  claims: Record<string, unknown>;
  validFrom: number | undefined;
  validUntil: number | undefined;
  status: unknown;
}

const toSeconds = (value: unknown): number | undefined => {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
};

/**
 * A JWT's registered date claim (RFC 7519 §2 NumericDate): absent, or a number of seconds; anything else is refused,
 * since a verifier that skipped it would accept what a JWT library refuses.
 */
function numericDate(payload: Record<string, unknown>, name: 'nbf' | 'exp' | 'iat'): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new NotAJwtVc(`the JWT's ${name} is not a NumericDate`);
  return value;
}
const later = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const earlier = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Raised when a JWT is no credential we read; the message is safe to show to the client. */
export class NotAJwtVc extends Error {}

/**
 * Normalises either data model's JWT payload, choosing the model by `typ` alone (RFC 8725 §3.11):
 * `vc+jwt` is VCDM 2.0 (VC-JOSE-COSE: the payload is the credential, `vc`/`vp` claims are forbidden);
 * `JWT` or no `typ` is VCDM 1.1 with a `vc` claim. Anything else is refused.
 */
export function readJwtVc(header: Record<string, unknown>, payload: Record<string, unknown>): ReadJwtVc {
  const typ = header['typ'];
  if (typ === 'vc+jwt') {
    if ('vc' in payload || 'vp' in payload) throw new NotAJwtVc('a vc+jwt credential must not carry vc or vp claims');
    if (!Array.isArray(payload['@context']) || payload['@context'][0] !== VCDM2_CONTEXT)
      throw new NotAJwtVc(`a vc+jwt credential must start its @context with ${VCDM2_CONTEXT}`);
    const { id: subjectId, ...claims } = asObject(payload['credentialSubject']);
    const issuer = payload['issuer'];
    return {
      dataModel: '2.0',
      id: typeof payload['id'] === 'string' ? payload['id'] : undefined,
      issuer: typeof issuer === 'object' && issuer !== null ? (issuer as { id?: unknown }).id : issuer,
      types: payload['type'],
      subjectId: typeof subjectId === 'string' ? subjectId : undefined,
      claims,
      // VC-JOSE-COSE §3: nbf/exp bound the securing JWT, validFrom/validUntil the credential: both must hold.
      validFrom: later(toSeconds(payload['validFrom']), numericDate(payload, 'nbf')),
      validUntil: earlier(toSeconds(payload['validUntil']), numericDate(payload, 'exp')),
      status: payload['credentialStatus'],
    };
  }
  if (typ !== undefined && typ !== 'JWT')
    throw new NotAJwtVc(`a JWT credential must have typ vc+jwt (VCDM 2.0) or JWT (VCDM 1.1), got ${untrustedText(typ)}`);
  if (typeof payload['vc'] !== 'object' || payload['vc'] === null || Array.isArray(payload['vc']))
    throw new NotAJwtVc('the JWT carries no verifiable credential (no vc claim, not vc+jwt)');
  const vc = asObject(payload['vc']);
  const { id: subjectId, ...claims } = asObject(vc['credentialSubject']);
  return {
    dataModel: '1.1',
    id: typeof payload['jti'] === 'string' ? payload['jti'] : undefined,
    issuer: payload['iss'],
    types: vc['type'],
    subjectId: typeof payload['sub'] === 'string' ? payload['sub'] : typeof subjectId === 'string' ? subjectId : undefined,
    claims,
    // §6.3.1: the claims stand for the dates; a token without them is dated by its vc claim (iat last). The JWT's
    // claims must be NumericDates (a string or another value would otherwise skip its fallback too).
    validFrom: numericDate(payload, 'nbf') ?? toSeconds(vc['issuanceDate']) ?? numericDate(payload, 'iat'),
    validUntil: numericDate(payload, 'exp') ?? toSeconds(vc['expirationDate']),
    status: vc['credentialStatus'],
  };
}

/** The proof type by which a VCDM 1.1 JWT travels inside its JSON form (VC-API answers are JSON objects). */
export const JWT_PROOF_2020 = 'JwtProof2020';
