import type { JsonWebKey } from 'node:crypto';
import { HOLDER_KEY_ALGORITHMS, safeHolderPublicJwk } from './holder-key.js';

/** did:jwk (holders' wallet keys): the DID is the JWK itself, so resolution needs no network. */
export function didJwk(jwk: JsonWebKey): string {
  const { kty, crv, x, y } = jwk;
  return `did:jwk:${Buffer.from(JSON.stringify(y === undefined ? { crv, kty, x } : { crv, kty, x, y })).toString('base64url')}`;
}

/**
 * The public key a holder's did:jwk names, or undefined when it is no did:jwk or its key is not one we
 * accept from holders: private members, or a curve other than the advertised algorithms (ES256).
 */
export function jwkFromDidJwk(did: string, algorithms: readonly string[] = HOLDER_KEY_ALGORITHMS): JsonWebKey | undefined {
  const match = /^did:jwk:([A-Za-z0-9_-]+)(#0)?$/.exec(did);
  if (!match) return undefined;
  try {
    const jwk: unknown = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8'));
    // Only public members come out; a did:jwk embedding a private key is no DID we accept.
    return safeHolderPublicJwk(jwk, algorithms);
  } catch {
    return undefined;
  }
}
