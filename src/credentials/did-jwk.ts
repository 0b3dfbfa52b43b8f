import type { JsonWebKey } from 'node:crypto';
import { isPublicJwk } from './jws.js';

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
    return isPublicJwk(jwk) ? jwk : undefined;
  } catch {
    return undefined;
  }
}
