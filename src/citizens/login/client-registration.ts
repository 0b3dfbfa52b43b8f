import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Violation } from '../../common/index.js';
import type { ScopeTable } from './scopes.js';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
/**
 * What a portal's ID tokens may be signed with: ES256 unless it asks for RS256, which every OpenID Provider must
 * offer (Core §15.1) and portals whose library knows no other algorithm need.
 */
export const ID_TOKEN_SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type IdTokenSigningAlg = (typeof ID_TOKEN_SIGNING_ALGS)[number];

/** A consortium data-sharing permission id (issue 15); stored and passed on, enforced on chain later. */
const permissionId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'letters, digits and . _ : - (at most 200)');

export const registerOidcClientSchema = z.object({
  name: z.string().trim().min(1).max(200),
  redirectUris: z.array(z.string().min(1).max(2000)).min(1).max(10),
  scopes: z.array(z.string().min(1).max(64)).min(1).max(20).describe('credential scopes the portal may ask for'),
  tokenEndpointAuthMethod: z.enum(CLIENT_AUTH_METHODS).default('client_secret_basic'),
  idTokenSignedResponseAlg: z
    .enum(ID_TOKEN_SIGNING_ALGS)
    .default('ES256')
    .describe("what the portal's ID tokens are signed with (id_token_signed_response_alg)"),
  jwks: z
    .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(5) })
    .optional()
    .describe('public keys for private_key_jwt'),
  dataSharingPermission: permissionId.optional().describe('the consortium data-sharing permission the portal relies on'),
});
export type RegisterOidcClient = z.infer<typeof registerOidcClientSchema>;

/**
 * Redirect URIs are matched exactly (no wildcards, no fragment, no credentials), https in production, and all
 * on one host: that host is the portal's sector, which its pairwise `sub` is derived from.
 */
export function redirectUriProblems(uris: string[], production: boolean): Violation[] {
  const problems: Violation[] = [];
  const hosts = new Set<string>();
  uris.forEach((raw, index) => {
    const path = `redirectUris.${index}`;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push({ path, message: 'must be an absolute URL' });
      return;
    }
    if (url.protocol !== 'https:' && (production || url.protocol !== 'http:')) {
      problems.push({ path, message: production ? 'must be an https URL' : 'must be an http(s) URL' });
      return;
    }
    if (url.hash || raw.includes('#')) problems.push({ path, message: 'must not have a fragment' });
    if (url.username || url.password) problems.push({ path, message: 'must not carry credentials' });
    if (raw.includes('*')) problems.push({ path, message: 'must not contain wildcards (matched exactly)' });
    if (url.href !== raw) problems.push({ path, message: `must be written in normal form (${url.href})` });
    hosts.add(url.host.toLowerCase());
  });
  if (new Set(uris).size !== uris.length) problems.push({ path: 'redirectUris', message: 'must not repeat' });
  if (hosts.size > 1) problems.push({ path: 'redirectUris', message: 'must all be on one host (the pairwise sector)' });
  return problems;
}

export function scopeProblems(scopes: string[], table: ScopeTable): Violation[] {
  return scopes
    .map((scope, index) => ({ scope, index }))
    .filter(({ scope }) => scope !== 'openid' && !Object.hasOwn(table, scope))
    .map(({ scope, index }) => ({ path: `scopes.${index}`, message: `unknown scope ${scope.slice(0, 64)}` }));
}

/** Smallest RSA modulus a portal's private_key_jwt key may have (RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

/**
 * private_key_jwt needs public keys without private members: EC P-256 (ES256) or RSA of at least 2048 bits (RS256,
 * PS256: what many Java and .NET stacks sign their assertions with); the secret methods take none.
 */
export function jwksProblems(method: ClientAuthMethod, jwks: RegisterOidcClient['jwks']): Violation[] {
  if (method !== 'private_key_jwt') {
    return jwks ? [{ path: 'jwks', message: 'only for tokenEndpointAuthMethod private_key_jwt' }] : [];
  }
  if (!jwks) return [{ path: 'jwks', message: 'required for private_key_jwt' }];
  const problems: Violation[] = [];
  jwks.keys.forEach((key, index) => {
    const path = `jwks.keys.${index}`;
    const problem = keyProblem(key);
    if (problem) problems.push({ path, message: problem });
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key))
      problems.push({ path, message: 'must not contain private key members' });
  });
  return problems;
}

function keyProblem(key: Record<string, unknown>): string | undefined {
  if (key['kty'] === 'RSA') {
    if (typeof key['n'] !== 'string' || typeof key['e'] !== 'string') return 'an RSA key needs n and e';
    const bits = publicKeyOf({ kty: 'RSA', n: key['n'], e: key['e'] })?.asymmetricKeyDetails?.modulusLength;
    if (bits === undefined) return 'n and e are not an RSA public key';
    return bits < MIN_RSA_BITS ? `an RSA key must have at least ${MIN_RSA_BITS} bits` : undefined;
  }
  if (key['kty'] !== 'EC' || key['crv'] !== 'P-256' || typeof key['x'] !== 'string' || typeof key['y'] !== 'string')
    return 'must be an EC P-256 public key (ES256) or an RSA public key (RS256, PS256)';
  return publicKeyOf({ kty: 'EC', crv: key['crv'], x: key['x'], y: key['y'] }) ? undefined : 'x and y are not a point of P-256';
}

/** A registered portal as stored (without its secret's hash). */
export interface OidcClientRecord {
  id: string;
  name: string;
  redirectUris: string[];
  scopes: string[];
  tokenEndpointAuthMethod: ClientAuthMethod;
  idTokenSignedResponseAlg: IdTokenSigningAlg;
  jwks: { keys: Record<string, unknown>[] } | null;
  dataSharingPermission: string | null;
}

/**
 * The portal as oidc-provider sees it: code flow only, a pairwise subject, ID tokens signed with the algorithm it
 * registered (ES256 or RS256). A secret-based
 * portal's `client_secret` is the SHA-256 of its secret: the provider compares through our
 * `compareClientSecret` (see openid-provider.ts), so the secret itself is never stored.
 */
export function providerClientMetadata(client: OidcClientRecord, secretHash: string | null): Record<string, unknown> {
  return {
    client_id: client.id,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    scope: ['openid', ...client.scopes.filter((scope) => scope !== 'openid')].join(' '),
    subject_type: 'pairwise',
    application_type: 'web',
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    ...(client.tokenEndpointAuthMethod === 'private_key_jwt' ? { jwks: client.jwks } : { client_secret: secretHash }),
    ...(client.dataSharingPermission ? { data_sharing_permission: client.dataSharingPermission } : {}),
  };
}

/** The key a public JWK describes, or undefined when its members make none (a portal with it could never authenticate). */
function publicKeyOf(jwk: Record<string, unknown>): KeyObject | undefined {
  try {
    return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
}
