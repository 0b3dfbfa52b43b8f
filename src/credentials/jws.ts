import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export type Signer = (signingInput: Uint8Array) => Promise<Uint8Array>;

/** A JWS we could not even parse; `reason` is safe to show to the client. */
export class MalformedJws extends Error {}

export const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');
export const b64urlJson = (value: unknown): string => b64url(JSON.stringify(value));
export const sha256b64url = (data: string): string => createHash('sha256').update(data).digest('base64url');

const B64URL = /^[A-Za-z0-9_-]*$/;

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  if (!B64URL.test(part)) throw new MalformedJws(`the JWS ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new MalformedJws(`the JWS ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MalformedJws(`the JWS ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * One base64url JSON part of a compact JWS or JWE (0 = protected header, 1 = JWS payload), unverified:
 * for reading a kid, nonce or jti that a library or a later step authenticates. Undefined if malformed.
 */
export function readJosePart(compact: string, index: number): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(compact.split('.')[index] ?? '', 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits and decodes a compact JWS without verifying it. */
export function decodeJws(compact: string): DecodedJws {
  const parts = compact.split('.');
  if (parts.length !== 3) throw new MalformedJws('not a compact JWS (expected three dot-separated parts)');
  const [header, payload, signature] = parts as [string, string, string];
  if (!B64URL.test(signature)) throw new MalformedJws('the JWS signature is not base64url');
  const decodedHeader = decodeJsonPart(header, 'header');
  if (Array.isArray(decodedHeader['crit']) && decodedHeader['crit'].length > 0) throw new MalformedJws('unsupported crit header');
  return {
    header: decodedHeader,
    payload: decodeJsonPart(payload, 'payload'),
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

export async function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, sign: Signer): Promise<string> {
  const signingInput = `${b64urlJson(header)}.${b64urlJson(payload)}`;
  return `${signingInput}.${b64url(await sign(Buffer.from(signingInput)))}`;
}

/** Curves and algorithms we accept; a key only ever verifies with the algorithm of its curve (RFC 8725 §3.1). */
const ALG_BY_CURVE: Record<string, { alg: string; hash: string; size: number }> = {
  'P-256': { alg: 'ES256', hash: 'sha256', size: 64 },
  'P-384': { alg: 'ES384', hash: 'sha384', size: 96 },
  Ed25519: { alg: 'EdDSA', hash: '', size: 64 },
};

const keyCache = new Map<string, KeyObject>();

function keyObject(jwk: JsonWebKey): KeyObject {
  const id = `${jwk.kty}:${jwk.crv}:${jwk.x}:${jwk.y ?? ''}`;
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** Verifies a decoded JWS with a public JWK; returns a reason when it fails. */
export function verifyJwsSignature(jws: DecodedJws, jwk: JsonWebKey): string | undefined {
  const expected = ALG_BY_CURVE[String(jwk.crv)];
  if (!expected || (jwk.kty !== 'EC' && jwk.kty !== 'OKP')) return `unsupported key type ${jwk.kty}/${jwk.crv}`;
  if (jws.header['alg'] !== expected.alg)
    return `alg ${String(jws.header['alg'])} does not match the ${jwk.crv} key (expected ${expected.alg})`;
  if (jws.signature.length !== expected.size) return 'the signature has the wrong length';
  let key: KeyObject;
  try {
    key = keyObject(jwk);
  } catch {
    return 'the public key is invalid';
  }
  const ok =
    expected.alg === 'EdDSA'
      ? verify(null, Buffer.from(jws.signingInput), key, jws.signature)
      : verify(expected.hash, Buffer.from(jws.signingInput), { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
  return ok ? undefined : 'the signature does not match';
}

/** Uncompressed SEC1 P-256 public key in hex (as ERC-1056 stores it) to a JWK. */
export function p256HexToJwk(publicKeyHex: string): JsonWebKey {
  const hex = publicKeyHex.replace(/^0x/, '');
  if (!/^04[0-9a-fA-F]{128}$/.test(hex)) throw new Error('not an uncompressed P-256 public key');
  const bytes = Buffer.from(hex, 'hex');
  return { kty: 'EC', crv: 'P-256', x: b64url(bytes.subarray(1, 33)), y: b64url(bytes.subarray(33)) };
}

export function isPublicJwk(value: unknown): value is JsonWebKey {
  if (typeof value !== 'object' || value === null) return false;
  const jwk = value as Record<string, unknown>;
  if ('d' in jwk) return false;
  return typeof jwk['kty'] === 'string' && typeof jwk['crv'] === 'string' && typeof jwk['x'] === 'string';
}

/** RFC 7638 thumbprint, used to name holder keys without storing them. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
