import { createPublicKey, hash, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { base64urlText } from '../common/base64url.js';
import { eventLoopLoad } from '../common/event-loop-load.js';
import { duplicateJsonMember, jsonBoundsProblem, untrustedText } from '../common/json-bounds.js';
import { isHighS } from '../common/p256.js';
import { safeHolderPublicJwk } from './holder-key.js';
import type { HolderProofProblem } from './verify-common.js';

export type Signer = (signingInput: Uint8Array) => Promise<Uint8Array>;

/** A JWS we could not even parse; `reason` is safe to show to the client. */
export class MalformedJws extends Error {}

export const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');
export const b64urlJson = (value: unknown): string => b64url(JSON.stringify(value));
// crypto.hash: one call, about a third of createHash().update().digest() for the short inputs hashed per credential.
export const sha256b64url = (data: string): string => hash('sha256', data, 'base64url');

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
  const text = base64urlText(part);
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedJws(`the JWS ${what} is not JSON`);
  }
  // RFC 8725 §3.8: a member given twice is refused, not resolved to one of its values.
  const duplicate = duplicateJsonMember(text);
  if (duplicate !== undefined) throw new MalformedJws(`the JWS ${what} repeats the member "${duplicate}"`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MalformedJws(`the JWS ${what} is not a JSON object`);
  // A validly signed payload may still be hostile (anyone can anchor a did:ethr key): bound depth and size
  // here, before any recursive walk (disclosures, schema validation) sees the value.
  const bounds = jsonBoundsProblem(value);
  if (bounds !== undefined) throw new MalformedJws(`the JWS ${what} is too large: ${bounds}`);
  return value as Record<string, unknown>;
}

/**
 * One base64url JSON part of a compact JWS or JWE (0 = protected header, 1 = JWS payload), unverified:
 * for reading a kid, nonce or jti that a library or a later step authenticates. Undefined if malformed.
 */
export function readJosePart(compact: string, index: number): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(base64urlText(compact.split('.')[index] ?? ''));
    return value && typeof value === 'object' && !Array.isArray(value) && jsonBoundsProblem(value) === undefined
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits and decodes a compact JWS without verifying it: refuses repeated members and any `crit`
 * (RFC 8725), and JSON deeper or larger than DEFAULT_JSON_BOUNDS.
 */
export function decodeJws(compact: string): DecodedJws {
  const parts = compact.split('.');
  if (parts.length !== 3) throw new MalformedJws('not a compact JWS (expected three dot-separated parts)');
  const [header, payload, signature] = parts as [string, string, string];
  if (!B64URL.test(signature)) throw new MalformedJws('the JWS signature is not base64url');
  const decodedHeader = decodeJsonPart(header, 'header');
  const problem = criticalHeaderProblem(decodedHeader);
  if (problem) throw new MalformedJws(problem);
  return {
    header: decodedHeader,
    payload: decodeJsonPart(payload, 'payload'),
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  };
}

/**
 * RFC 7515 §4.1.11: `crit` must be a non-empty array of extension names the recipient understands. We
 * understand no extension, so any `crit` is refused (also an empty or non-array one, which is malformed).
 */
export function criticalHeaderProblem(header: Record<string, unknown>, understood: readonly string[] = []): string | undefined {
  if (!('crit' in header)) return undefined;
  const crit = header['crit'];
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== 'string'))
    return 'the crit header must be a non-empty array of names';
  const unknown = crit.filter((name: string) => !understood.includes(name) || !(name in header));
  return unknown.length > 0 ? `unsupported critical header ${unknown.join(', ')}` : undefined;
}

/**
 * Checks a compact JWS's structure (three base64url parts, JSON objects without repeated members, no
 * `crit`) without verifying it. For tokens a library verifies after us (key proofs, DPoP).
 */
export function compactJwsProblem(compact: string): string | undefined {
  try {
    decodeJws(compact);
    return undefined;
  } catch (error) {
    return error instanceof MalformedJws ? error.message : 'not a compact JWS';
  }
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

/**
 * Whether a holder's proof (KB-JWT, JWT VP) is addressed to `audience` alone: OID4VP 1.0 B.1.3.1 and B.3.6 have its
 * `aud` be the client identifier. As a string, or as an array holding only it (RFC 7519 §4.1.3 allows an array, and
 * some wallets always send one); a proof addressed to another verifier as well is not ours alone.
 */
function namesAudience(aud: unknown, audience: string): boolean {
  return Array.isArray(aud) ? aud.length === 1 && aud[0] === audience : aud === audience;
}

/**
 * A holder's proof (`what`: the key-binding JWT, the presentation) made for another request: its `aud` not the
 * audience alone (see namesAudience) or its `nonce` not the nonce, each compared when given. OID4VP 1.0 §14.1.2 refuses
 * the whole response then (`forAnotherRequest`).
 */
export function proofForAnotherRequest(
  payload: Record<string, unknown>,
  expected: { audience?: string; nonce?: string },
  what: string,
): HolderProofProblem | undefined {
  const { aud, nonce } = payload;
  if (expected.audience !== undefined && !namesAudience(aud, expected.audience))
    return {
      reason: `${what} is for audience ${JSON.stringify(aud ?? null).slice(0, 200)}, expected ${expected.audience}`,
      forAnotherRequest: true,
    };
  if (expected.nonce !== undefined && nonce !== expected.nonce)
    return { reason: `${what} nonce does not match`, forAnotherRequest: true };
  return undefined;
}

/**
 * RFC 7519 §4.1.4–5: an `exp` or `nbf` a JWT carries must be a NumericDate and hold at `nowSeconds` (with the skew):
 * 'expired' at or after exp, 'not yet valid' before nbf, undefined when both hold or are absent.
 */
export function timeClaimsProblem(
  payload: Record<string, unknown>,
  nowSeconds: number,
  skewSeconds: number,
): 'expired' | 'not yet valid' | undefined {
  const { exp, nbf } = payload;
  if (exp !== undefined && (typeof exp !== 'number' || exp + skewSeconds <= nowSeconds)) return 'expired';
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds + skewSeconds)) return 'not yet valid';
  return undefined;
}

// Issuers sign low-S (lowS in src/keys); the check is shared with them.
export { isHighS };

export interface SignatureOptions {
  /**
   * Refuse high-S ES256 signatures. On for issuer signatures (credentials, status lists): every issuer
   * on our chain signs low-S, so a high-S twin is a malleated copy. Off for holders' signatures, because
   * WebCrypto and OpenSSL wallets produce high-S half the time and replay is prevented by nonces and jtis.
   */
  rejectHighS?: boolean;
}

const SIGNATURE_MISMATCH = 'the signature does not match';

/** What node:crypto's verify needs for a JWS and a JWK, or the reason the pair cannot verify at all. */
function signatureCheck(
  jws: DecodedJws,
  jwk: JsonWebKey,
  options: SignatureOptions,
): string | { algorithm: string | null; key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } } {
  const expected = typeof jwk.crv === 'string' && Object.hasOwn(ALG_BY_CURVE, jwk.crv) ? ALG_BY_CURVE[jwk.crv] : undefined;
  if (!expected || (jwk.kty !== 'EC' && jwk.kty !== 'OKP'))
    return `unsupported key type ${untrustedText(jwk.kty)}/${untrustedText(jwk.crv)}`;
  if (jws.header['alg'] !== expected.alg)
    return `alg ${untrustedText(jws.header['alg'])} does not match the ${jwk.crv} key (expected ${expected.alg})`;
  if (jws.signature.length !== expected.size) return 'the signature has the wrong length';
  if (options.rejectHighS && expected.alg === 'ES256' && isHighS(jws.signature))
    return 'the signature is not in canonical low-S form';
  let key: KeyObject;
  try {
    key = keyObject(jwk);
  } catch {
    return 'the public key is invalid';
  }
  return expected.alg === 'EdDSA'
    ? { algorithm: null, key }
    : { algorithm: expected.hash, key: { key, dsaEncoding: 'ieee-p1363' } };
}

/** Verifies a decoded JWS with a public JWK; returns a reason when it fails. */
export function verifyJwsSignature(jws: DecodedJws, jwk: JsonWebKey, options: SignatureOptions = {}): string | undefined {
  const check = signatureCheck(jws, jwk, options);
  if (typeof check === 'string') return check;
  return verify(check.algorithm, Buffer.from(jws.signingInput), check.key, jws.signature) ? undefined : SIGNATURE_MISMATCH;
}

/**
 * `verifyJwsSignature` with the signature computed on libuv's threadpool (ADR 28): the event loop spends
 * ~10 µs handing it over instead of ~57 µs computing it, and meanwhile serves other requests. Worth it only
 * when other work waits for the event loop (an HTTP server under load); a lone caller just waits longer.
 */
export function verifyJwsSignatureOnThreadpool(
  jws: DecodedJws,
  jwk: JsonWebKey,
  options: SignatureOptions = {},
): Promise<string | undefined> {
  const check = signatureCheck(jws, jwk, options);
  if (typeof check === 'string') return Promise.resolve(check);
  return new Promise((resolve, reject) =>
    // An error is what the inline check would have thrown: passed on, not turned into an answer.
    verify(check.algorithm, Buffer.from(jws.signingInput), check.key, jws.signature, (error, ok) =>
      error ? reject(error) : resolve(ok ? undefined : SIGNATURE_MISMATCH),
    ),
  );
}

/**
 * For request handlers (ADR 28): inline while the event loop has time to spare, on the threadpool while it is
 * saturated, when other requests wait for it.
 */
export function verifyJwsSignatureUnderLoad(
  jws: DecodedJws,
  jwk: JsonWebKey,
  options: SignatureOptions = {},
): string | undefined | Promise<string | undefined> {
  return eventLoopLoad.isSaturated() ? verifyJwsSignatureOnThreadpool(jws, jwk, options) : verifyJwsSignature(jws, jwk, options);
}

/** Uncompressed SEC1 P-256 public key in hex (as ERC-1056 stores it) to a JWK. */
export function p256HexToJwk(publicKeyHex: string): JsonWebKey {
  const hex = publicKeyHex.replace(/^0x/, '');
  if (!/^04[0-9a-fA-F]{128}$/.test(hex)) throw new Error('not an uncompressed P-256 public key');
  const bytes = Buffer.from(hex, 'hex');
  return { kty: 'EC', crv: 'P-256', x: b64url(bytes.subarray(1, 33)), y: b64url(bytes.subarray(33)) };
}

/** A well-formed public key (any curve we verify) without private members; see holder-key.ts for holders. */
export function isPublicJwk(value: unknown): value is JsonWebKey {
  return safeHolderPublicJwk(value, ['ES256', 'EdDSA']) !== undefined;
}

/** RFC 7638 thumbprint, used to name holder keys without storing them. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  // The required members of each key type, in lexicographic order (RFC 7638 §3.2).
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'RSA'
        ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return hash('sha256', JSON.stringify(members), 'base64url');
}
