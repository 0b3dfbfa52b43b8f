/** P-256 group order; an ECDSA signature with s above half of it is the malleated twin of a low-S one. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** n/2 as 32 big-endian bytes: s is compared byte by byte, without a hex string and a BigInt per check. */
const P256_HALF_N = Buffer.from((P256_N / 2n).toString(16).padStart(64, '0'), 'hex');

/** True when an ES256 signature (r || s, 64 bytes) has s > n/2 (not canonical). */
export function isHighS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  return Buffer.compare(signature.subarray(32), P256_HALF_N) > 0;
}
