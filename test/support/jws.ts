import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Hand-made JOSE values for unit specs of proof checks (DPoP, key proofs): headers written verbatim so that
 * malformed ones (repeated members, private keys) can be built. No jest globals.
 */
export const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A fresh P-256 key pair with its public and private JWKs. */
export function p256() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }), privateJwk: privateKey.export({ format: 'jwk' }) };
}

/** A compact JWS with the header text given verbatim (so repeated members can be written). */
export function jws(headerText: string, payload: Record<string, unknown>, key: KeyObject, ed25519 = false): string {
  const input = `${b64(headerText)}.${b64(payload)}`;
  const signature = ed25519
    ? sign(null, Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
