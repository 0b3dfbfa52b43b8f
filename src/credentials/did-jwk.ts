import type { JsonWebKey } from 'node:crypto';
import { safeHolderPublicJwk } from './holder-key.js';

/** did:jwk (holders' wallet keys): the DID is the JWK itself, so resolution needs no network. */
export function didJwk(jwk: JsonWebKey): string {
  const { kty, crv, x, y } = jwk;
  return `did:jwk:${Buffer.from(JSON.stringify(y === undefined ? { crv, kty, x } : { crv, kty, x, y })).toString('base64url')}`;
}

export function jwkFromDidJwk(did: string): JsonWebKey | undefined {
  const match = /^did:jwk:([A-Za-z0-9_-]+)(#0)?$/.exec(did);
  if (!match) return undefined;
  try {
    const jwk: unknown = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8'));
    // Only public members come out; a did:jwk embedding a private key is no DID we accept.
    return safeHolderPublicJwk(jwk, ['ES256', 'EdDSA']);
  } catch {
    return undefined;
  }
}
