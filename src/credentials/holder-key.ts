import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { untrustedText } from '../common/json-bounds.js';

/**
 * Holder (wallet) keys: the only algorithms we advertise in `proof_signing_alg_values_supported` and
 * accept anywhere a holder key is taken (key proofs, DPoP, VC-API holderJwk, did:jwk, KB-JWTs).
 */
export const HOLDER_KEY_ALGORITHMS = ['ES256'] as const;
export type HolderKeyAlgorithm = (typeof HOLDER_KEY_ALGORITHMS)[number];

/** JWK members that carry private or symmetric key material (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const CURVE_OF: Record<string, { kty: string; crv: string; coordinateBytes: number; hasY: boolean }> = {
  ES256: { kty: 'EC', crv: 'P-256', coordinateBytes: 32, hasY: true },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', coordinateBytes: 32, hasY: false },
};

/** A holder key we refuse; the message is one line and safe to show to the client. */
export class InvalidHolderKey extends Error {}

const coordinate = (value: unknown, bytes: number): boolean =>
  typeof value === 'string' && /^[A-Za-z0-9_-]+$/.test(value) && Buffer.from(value, 'base64url').length === bytes;

/**
 * Checks that `value` is a public key of one of `algorithms` (by curve) and returns only its public
 * members, so nothing else (a private `d`, odd extra members) can ever be copied into a credential.
 */
export function holderPublicJwk(
  value: unknown,
  algorithms: readonly string[] = HOLDER_KEY_ALGORITHMS,
): JsonWebKey & { kty: string; crv: string; x: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidHolderKey('the key is not a JWK object');
  const jwk = value as Record<string, unknown>;
  const secret = PRIVATE_MEMBERS.filter((member) => member in jwk);
  if (secret.length > 0) throw new InvalidHolderKey(`the JWK carries private key members (${secret.join(', ')})`);
  const algorithm = algorithms.find((alg) => CURVE_OF[alg]?.kty === jwk['kty'] && CURVE_OF[alg]?.crv === jwk['crv']);
  if (!algorithm) {
    throw new InvalidHolderKey(
      `unsupported key type ${untrustedText(jwk['kty'])}/${untrustedText(jwk['crv'])}; supported: ${algorithms.join(', ')}`,
    );
  }
  if (jwk['alg'] !== undefined && jwk['alg'] !== algorithm) throw new InvalidHolderKey(`the JWK's alg must be ${algorithm}`);
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') throw new InvalidHolderKey('the JWK must be a signing key (use "sig")');
  const curve = CURVE_OF[algorithm]!;
  if (!coordinate(jwk['x'], curve.coordinateBytes) || (curve.hasY && !coordinate(jwk['y'], curve.coordinateBytes))) {
    throw new InvalidHolderKey('the JWK coordinates are not base64url values of the curve size');
  }
  const publicJwk = curve.hasY
    ? { kty: curve.kty, crv: curve.crv, x: jwk['x'] as string, y: jwk['y'] as string }
    : { kty: curve.kty, crv: curve.crv, x: jwk['x'] as string };
  try {
    createPublicKey({ key: publicJwk, format: 'jwk' });
  } catch {
    throw new InvalidHolderKey('the JWK is not a point on its curve');
  }
  return publicJwk;
}

/** Like holderPublicJwk, but answers undefined instead of throwing. */
export function safeHolderPublicJwk(value: unknown, algorithms: readonly string[] = HOLDER_KEY_ALGORITHMS) {
  try {
    return holderPublicJwk(value, algorithms);
  } catch {
    return undefined;
  }
}
