import type { JsonWebKey } from 'node:crypto';
import { HOLDER_KEY_ALGORITHMS, jwkThumbprint } from '../credentials/index.js';
import {
  proofFailure,
  proofIatProblem,
  proofPublicKey,
  strictProofHeader,
  type ProofCheck,
  type ProofLimits,
} from '../oauth/index.js';

/** Holder-key binding methods we advertise (`cryptographic_binding_methods_supported`) and accept in key proofs. */
export const HOLDER_BINDING_METHODS = ['jwk'] as const;

export const KEY_PROOF_TYP = 'openid4vci-proof+jwt';

/** did:jwk:<base64url JSON> (optionally #0), decoded without dropping anything so private members are seen. */
function didJwkKey(kid: string): unknown {
  const match = /^did:jwk:([A-Za-z0-9_-]+)(#0)?$/.exec(kid);
  if (!match) return undefined;
  try {
    return JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * OID4VCI 1.0 Appendix F.1 `jwt` key proof, checked before any library sees it: a compact JWS without
 * repeated members or `crit`, typ openid4vci-proof+jwt, an advertised alg, the holder key as a public
 * `jwk` of that alg (the only binding method advertised; a did:jwk `kid` is refused, and one with
 * private members is reported as such), a recent iat, a nonce, and an `iss` (if any) naming the token's client.
 * Returns the key's public members only.
 */
export function checkKeyProof(
  compact: unknown,
  limits: ProofLimits & { clientId?: string },
): ProofCheck<{ key: JsonWebKey; nonce: string | undefined }> {
  const algorithms = limits.algorithms ?? HOLDER_KEY_ALGORITHMS;
  const strict = strictProofHeader(compact, KEY_PROOF_TYP, algorithms);
  if (!strict.ok) return strict;
  const { header, payload } = strict;
  if (header['jwk'] !== undefined && (header['kid'] !== undefined || header['x5c'] !== undefined))
    return proofFailure('the proof must name its key once (jwk, kid or x5c)');
  if (typeof header['kid'] === 'string') {
    const embedded = didJwkKey(header['kid']);
    if (embedded !== undefined) {
      const key = proofPublicKey(embedded, header['alg'] as string);
      if (!key.ok) return key;
    }
    return proofFailure(`the holder key must be given as jwk (supported binding methods: ${HOLDER_BINDING_METHODS.join(', ')})`);
  }
  if (header['jwk'] === undefined)
    return proofFailure(`the holder key must be given as jwk (supported binding methods: ${HOLDER_BINDING_METHODS.join(', ')})`);
  const key = proofPublicKey(header['jwk'], header['alg'] as string);
  if (!key.ok) return key;
  const iat = proofIatProblem(payload['iat'], limits);
  if (iat) return proofFailure(iat);
  const nonce = payload['nonce'];
  if (nonce !== undefined && typeof nonce !== 'string') return proofFailure('the proof nonce must be a string');
  // F.1: iss, when present, "MUST be the client_id of the Client making the Credential Request": the client the
  // access token was issued to. A token of an anonymous pre-authorized grant names no client to compare with.
  const iss = payload['iss'];
  if (iss !== undefined && typeof iss !== 'string') return proofFailure('the proof iss must be a string');
  if (iss !== undefined && limits.clientId !== undefined && iss !== limits.clientId)
    return proofFailure('the proof iss is not the client the access token was issued to');
  return { ok: true, value: { key: key.value, nonce } };
}

/**
 * §8.3: "Each key provided by the Wallet is used to bind to, at most, one Credential": a batch whose proofs name one
 * key twice (the same proof repeated, or several signed by one key) would bind it to several. Undefined when every
 * key is its own.
 */
export function repeatedProofKeyProblem(keys: readonly JsonWebKey[]): string | undefined {
  const thumbprints = new Set(keys.map(jwkThumbprint));
  return thumbprints.size === keys.length ? undefined : 'two proofs name the same key; each key binds one credential';
}
