import { createHash, type JsonWebKey } from 'node:crypto';
import type { DcqlQuery } from 'dcql';
import { didJwk } from '../credentials/index.js';
import type { VerifierInfo } from './data-sharing.js';

/** OID4VP 1.0 §5.9: how a verifier's client_id says who it is. */
export const CLIENT_ID_PREFIXES = ['redirect_uri', 'decentralized_identifier', 'x509_san_dns', 'x509_hash'] as const;
export type ClientIdPrefix = (typeof CLIENT_ID_PREFIXES)[number];

export const RESPONSE_MODES = ['direct_post', 'direct_post.jwt'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

/** How long a request (its QR code, its request object) may be answered. */
export const REQUEST_TTL_SECONDS = 300;

/**
 * How old a holder proof (KB-JWT, JWT VP) answering a request may be: it signs the request's single-use nonce, so it
 * cannot predate the request; the window is the request's age plus the clock skew allowed, and never shorter than
 * the configured one. A citizen who takes minutes over the consent screen, or a wallet that sends its response again
 * after a 503, is not refused as "too old".
 */
export function holderProofWindowSeconds(
  requestCreatedAt: Date,
  now: Date,
  limits: { clockSkewSeconds: number; configured: number },
) {
  const requestAge = Math.ceil(Math.max(0, now.getTime() - requestCreatedAt.getTime()) / 1000);
  return Math.max(limits.configured, requestAge + limits.clockSkewSeconds);
}

/**
 * What a direct_post.jwt response may be encrypted with: ECDH-ES directly to the per-request key, A128GCM
 * or A256GCM (HAIP). The same list is advertised in client_metadata and enforced on decryption.
 */
export const RESPONSE_ENCRYPTION = {
  keyManagementAlgorithms: ['ECDH-ES' as const],
  contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'],
};

export const VP_FORMATS_SUPPORTED = {
  'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] },
  jwt_vc_json: { alg_values: ['ES256'] },
};

/** Where the relying party lives, as wallets see it. */
export interface VerifierEndpoints {
  /** The direct_post response endpoint (also the client_id of the redirect_uri prefix). */
  responseUri: string;
  /** Our public host name: the SAN DNS name of x509_san_dns (and x509_hash) certificates. */
  publicHost: string;
}

/** Prefixes whose request objects carry the party's certificate (x5c) and whose client_id names it. */
export const usesCertificate = (prefix: ClientIdPrefix): boolean => prefix === 'x509_san_dns' || prefix === 'x509_hash';

/**
 * The full client_id (prefix included, as KB-JWT audiences must carry it): `redirect_uri:<response uri>`,
 * `x509_san_dns:<our host>`, `x509_hash:<base64url SHA-256 of the certificate's DER>` (§5.9.3) or
 * `decentralized_identifier:<did:jwk of the party's signing key>`.
 */
export function clientIdFor(
  prefix: ClientIdPrefix,
  endpoints: VerifierEndpoints,
  signingJwk: JsonWebKey,
  certificate: string | null,
): string {
  if (prefix === 'redirect_uri') return `redirect_uri:${endpoints.responseUri}`;
  if (prefix === 'x509_san_dns') return `x509_san_dns:${endpoints.publicHost}`;
  if (prefix === 'x509_hash') {
    if (!certificate) throw new Error('An x509_hash relying party needs its certificate');
    return `x509_hash:${createHash('sha256').update(Buffer.from(certificate, 'base64')).digest('base64url')}`;
  }
  return `decentralized_identifier:${didJwk(signingJwk)}`;
}

/**
 * Whether a client_id of ours is the same for every relying party of its prefix: `redirect_uri:<our response uri>`
 * and `x509_san_dns:<our host>` name this service, not one party (x509_hash and decentralized_identifier name the
 * party's own certificate or key). A data-sharing permission granted to such an id would cover every party.
 */
export const isSharedClientId = (clientId: string): boolean =>
  clientId.startsWith('redirect_uri:') || clientId.startsWith('x509_san_dns:');

/**
 * The `aud` of our request objects (OID4VP 1.0 §5.8): we know no wallet's metadata before it fetches the request
 * (no request_uri_method=post), so this is static discovery, whose audience is this fixed value. (The library's
 * default, the request_uri, is what a strict wallet refuses.)
 */
export const REQUEST_OBJECT_AUDIENCE = 'https://self-issued.me/v2';

/** The @openid4vc JWT signer description of a request object; none for redirect_uri, whose requests are unsigned. */
export type RequestObjectSigner =
  { method: 'x5c'; x5c: string[]; alg: 'ES256' } | { method: 'did'; didUrl: string; alg: 'ES256' };

export function requestObjectSigner(
  prefix: ClientIdPrefix,
  clientId: string,
  certificate: string | null,
): RequestObjectSigner | undefined {
  if (prefix === 'redirect_uri') return undefined;
  if (usesCertificate(prefix)) {
    if (!certificate) throw new Error(`An ${prefix} relying party needs its certificate`);
    return { method: 'x5c', x5c: [certificate], alg: 'ES256' };
  }
  return { method: 'did', didUrl: `${clientId.slice('decentralized_identifier:'.length)}#0`, alg: 'ES256' };
}

/** A public key-agreement JWK (RFC 7517), as client_metadata.jwks carries it. */
export interface EncryptionJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid?: string;
  use?: string;
  alg?: string;
}

export interface AuthorizationRequestInput {
  clientId: string;
  nonce: string;
  state: string;
  responseMode: ResponseMode;
  responseUri: string;
  dcqlQuery: DcqlQuery.Output;
  party: { name: string; purpose: string };
  /** direct_post.jwt: the public half of the request's own ECDH-ES key. */
  encryptionJwk?: EncryptionJwk;
  /** OID4VP 1.0 §5.1: the data-sharing permissions the request rests on (ADR 15). */
  verifierInfo?: VerifierInfo[];
}

export interface AuthorizationRequestPayload {
  response_type: 'vp_token';
  client_id: string;
  nonce: string;
  state: string;
  response_mode: ResponseMode;
  response_uri: string;
  dcql_query: DcqlQuery.Output;
  verifier_info?: VerifierInfo[];
  client_metadata: {
    client_name: string;
    purpose: string;
    vp_formats_supported: typeof VP_FORMATS_SUPPORTED;
    jwks?: { keys: EncryptionJwk[] };
    encrypted_response_enc_values_supported?: string[];
  };
}

/**
 * The authorization request (OID4VP 1.0 §5) for a DCQL query: vp_token by direct_post or, encrypted to a
 * key of this request only, by direct_post.jwt (§8.3, the key in client_metadata.jwks).
 */
export function authorizationRequestPayload(input: AuthorizationRequestInput): AuthorizationRequestPayload {
  if (input.responseMode === 'direct_post.jwt' && !input.encryptionJwk)
    throw new Error('direct_post.jwt needs the encryption key of the request');
  return {
    response_type: 'vp_token',
    client_id: input.clientId,
    nonce: input.nonce,
    state: input.state,
    response_mode: input.responseMode,
    response_uri: input.responseUri,
    dcql_query: input.dcqlQuery,
    ...(input.verifierInfo?.length ? { verifier_info: input.verifierInfo } : {}),
    client_metadata: {
      client_name: input.party.name,
      purpose: input.party.purpose,
      vp_formats_supported: VP_FORMATS_SUPPORTED,
      ...(input.responseMode === 'direct_post.jwt'
        ? {
            jwks: { keys: [input.encryptionJwk!] },
            encrypted_response_enc_values_supported: RESPONSE_ENCRYPTION.contentEncryptionAlgorithms,
          }
        : {}),
    },
  };
}

export const requestExpiresAt = (now: Date): Date => new Date(now.getTime() + REQUEST_TTL_SECONDS * 1000);

/**
 * Same-device flow: where the wallet sends the citizen back, carrying the request id and the fresh
 * response_code the party must show to read the verdict (OID4VP 1.0 §13.3, session fixation).
 */
export function sameDeviceReturn(returnUri: string, requestId: string, responseCode: string): string {
  return `${returnUri}${returnUri.includes('?') ? '&' : '?'}request=${requestId}&response_code=${responseCode}`;
}
