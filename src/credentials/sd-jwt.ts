import { randomBytes, type JsonWebKey } from 'node:crypto';
import { base64urlText } from '../common/base64url.js';
import { DEFAULT_JSON_BOUNDS, jsonBoundsProblem, untrustedText } from '../common/json-bounds.js';
import {
  b64urlJson,
  decodeJws,
  MalformedJws,
  proofForAnotherRequest,
  timeClaimsProblem,
  sha256b64url,
  signJws,
  verifyJwsSignature,
  type DecodedJws,
  type Signer,
} from './jws.js';
import { merged } from '../common/merged.js';
import type { HolderProofProblem } from './verify-common.js';

/** SD-JWT VC claims that may never be disclosures (draft-ietf-oauth-sd-jwt-vc): a holder could withhold them. */
export const NEVER_DISCLOSED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'nbf',
  'exp',
  'cnf',
  'vct',
  'vct#integrity',
  'status',
]);

/**
 * Claim names an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, RFC 9901) uses itself: a licence-type claim so named would
 * overwrite the credential's own (claims sit beside them in the payload).
 */
export const RESERVED_CLAIM_NAMES: ReadonlySet<string> = new Set([
  ...NEVER_DISCLOSED_CLAIMS,
  'sub',
  'iat',
  '_sd',
  '_sd_alg',
  '...',
]);

/**
 * 128-bit salts, base64url, cut from a pooled CSPRNG buffer: one randomBytes call per 256 salts instead of
 * one per disclosure and decoy (each call costs a native round trip). Every salt is used once; its bytes
 * are zeroed once encoded, and the pool is refilled when spent.
 */
const SALT_BYTES = 16;
const POOL_SALTS = 256;
let pool = Buffer.alloc(0);
let offset = 0;
export function salt(): string {
  if (offset + SALT_BYTES > pool.length) {
    pool = randomBytes(SALT_BYTES * POOL_SALTS);
    offset = 0;
  }
  const out = pool.toString('base64url', offset, offset + SALT_BYTES);
  pool.fill(0, offset, offset + SALT_BYTES);
  offset += SALT_BYTES;
  return out;
}

/** Upper bound on disclosures in one SD-JWT, checked before any hashing (RFC 9901 leaves it to us). */
export const MAX_DISCLOSURES = 256;
/** 128-bit salts, base64url: 22 characters. */
const MIN_SALT_LENGTH = 22;

export interface SdJwtIssueInput {
  header: Record<string, unknown>;
  /** Always-visible claims (iss, vct, iat, exp, cnf, status, …). */
  payload: Record<string, unknown>;
  /** Top-level claims that become selectively disclosable. */
  disclosable: Record<string, unknown>;
  decoys: number;
  sign: Signer;
}

export function createDisclosure(name: string, value: unknown): { disclosure: string; digest: string } {
  const disclosure = b64urlJson([salt(), name, value]);
  return { disclosure, digest: sha256b64url(disclosure) };
}

/** Issues an SD-JWT (RFC 9901) with top-level disclosable claims and decoy digests, `_sd` sorted. */
export async function issueSdJwt(input: SdJwtIssueInput): Promise<string> {
  const disclosures = Object.entries(input.disclosable).map(([name, value]) => createDisclosure(name, value));
  const decoys = Array.from({ length: input.decoys }, () => sha256b64url(salt()));
  const digests =
    disclosures.length + decoys.length > 0
      ? { _sd: [...disclosures.map((d) => d.digest), ...decoys].sort(), _sd_alg: 'sha-256' }
      : {};
  const jws = await signJws(input.header, merged(input.payload, digests), input.sign);
  return `${jws}~${disclosures.map((d) => d.disclosure + '~').join('')}`;
}

export interface ParsedSdJwt {
  jws: string;
  disclosures: string[];
  keyBindingJwt: string | undefined;
  /** The presentation up to and including the last `~`: what a KB-JWT's sd_hash covers. */
  sdHashInput: string;
}

export function parseSdJwt(serialized: string): ParsedSdJwt {
  const parts = serialized.split('~');
  if (parts.length < 2) throw new MalformedJws('not an SD-JWT (no ~ separator)');
  if (parts.length - 2 > MAX_DISCLOSURES) throw new MalformedJws(`more than ${MAX_DISCLOSURES} disclosures`);
  const keyBindingJwt = parts.at(-1) || undefined;
  const disclosures = parts.slice(1, -1);
  if (disclosures.some((disclosure) => disclosure === '')) throw new MalformedJws('empty disclosure');
  const sdHashInput = serialized.slice(0, serialized.lastIndexOf('~') + 1);
  return { jws: parts[0]!, disclosures, keyBindingJwt, sdHashInput };
}

/** Raised for any disclosure problem; the message is the precise reason reported to verifiers. */
export class DisclosureError extends Error {}

interface Disclosure {
  salt: string;
  name: string | undefined;
  value: unknown;
}

function decodeDisclosure(encoded: string): Disclosure {
  let decoded: unknown;
  try {
    decoded = JSON.parse(base64urlText(encoded));
  } catch {
    throw new DisclosureError('a disclosure is not base64url-encoded JSON');
  }
  // Bounded before the disclosure walk recurses into it.
  const bounds = jsonBoundsProblem(decoded);
  if (bounds !== undefined) throw new DisclosureError(`a disclosure is too large: ${bounds}`);
  if (!Array.isArray(decoded) || (decoded.length !== 3 && decoded.length !== 2) || typeof decoded[0] !== 'string') {
    throw new DisclosureError('a disclosure is not a [salt, name, value] or [salt, value] array');
  }
  if (decoded[0].length < MIN_SALT_LENGTH) throw new DisclosureError('a disclosure salt is shorter than 128 bits');
  if (decoded.length === 3) {
    if (typeof decoded[1] !== 'string') throw new DisclosureError('a disclosure claim name is not a string');
    if (decoded[1] === '_sd' || decoded[1] === '...')
      throw new DisclosureError(`a disclosure uses the reserved claim name ${decoded[1]}`);
    return { salt: decoded[0], name: decoded[1], value: decoded[2] };
  }
  return { salt: decoded[0], name: undefined, value: decoded[1] };
}

/**
 * Sets a claim as an own property whatever its name: assigning `__proto__` would call Object.prototype's
 * setter instead (the claim lost, the value made the object's prototype).
 */
function setClaim(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

export interface DisclosureRules {
  /**
   * Claim names that may not be disclosed at the top level (an SD-JWT VC's NEVER_DISCLOSED_CLAIMS), checked in
   * the same walk that rebuilds the claims: each disclosure is decoded and hashed once.
   */
  neverDisclosedAtTop?: ReadonlySet<string>;
}

/**
 * Reconstructs the disclosed claims from the verified payload, enforcing RFC 9901 §7.1 strictly where
 * @sd-jwt 0.19 is lenient: every disclosure must be referenced exactly once, none may repeat, digests
 * must be unique, and a disclosed name may not collide with a plaintext claim.
 */
export function applyDisclosures(
  payload: Record<string, unknown>,
  encodedDisclosures: string[],
  rules: DisclosureRules = {},
): Record<string, unknown> {
  const alg = payload['_sd_alg'] ?? 'sha-256';
  if (alg !== 'sha-256') throw new DisclosureError(`unsupported _sd_alg ${untrustedText(alg)}`);
  const byDigest = new Map<string, Disclosure>();
  for (const encoded of encodedDisclosures) {
    const digest = sha256b64url(encoded);
    if (byDigest.has(digest)) throw new DisclosureError('a disclosure is repeated');
    byDigest.set(digest, decodeDisclosure(encoded));
  }
  const seenDigests = new Set<string>();
  const used = new Set<string>();
  const forbidden = new Set<Disclosure>();
  const referenced = (digest: unknown): Disclosure | undefined => {
    if (typeof digest !== 'string') throw new DisclosureError('a digest is not a string');
    if (seenDigests.has(digest)) throw new DisclosureError('a digest appears twice in the credential');
    seenDigests.add(digest);
    const disclosure = byDigest.get(digest);
    if (disclosure) used.add(digest);
    return disclosure;
  };

  // Disclosures nest (a disclosed value may reference further disclosures), so each one being bounded does
  // not bound the claims they rebuild: the walk keeps its own depth and size budget (same limits).
  let nodes = 0;
  const countNodes = (members: number) => {
    nodes += members;
    if (nodes > DEFAULT_JSON_BOUNDS.maxNodes)
      throw new DisclosureError(`the disclosed claims have more than ${DEFAULT_JSON_BOUNDS.maxNodes} members`);
  };
  const walk = (value: unknown, depth = 1): unknown => {
    if (value && typeof value === 'object') {
      if (depth > DEFAULT_JSON_BOUNDS.maxDepth)
        throw new DisclosureError(`the disclosed claims are nested deeper than ${DEFAULT_JSON_BOUNDS.maxDepth} levels`);
    }
    if (Array.isArray(value)) {
      countNodes(value.length);
      const out: unknown[] = [];
      for (const element of value) {
        const isRef =
          element &&
          typeof element === 'object' &&
          !Array.isArray(element) &&
          Object.keys(element).length === 1 &&
          '...' in element;
        if (!isRef) {
          out.push(walk(element, depth + 1));
          continue;
        }
        const disclosure = referenced((element as Record<string, unknown>)['...']);
        if (!disclosure) continue; // a decoy or an undisclosed element
        if (disclosure.name !== undefined) throw new DisclosureError('an array element disclosure has a claim name');
        out.push(walk(disclosure.value, depth + 1));
      }
      return out;
    }
    if (value && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object);
      countNodes(keys.length);
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        if (key === '_sd' || key === '_sd_alg') continue;
        setClaim(out, key, walk(object[key], depth + 1));
      }
      const digests = object['_sd'];
      if (digests !== undefined) {
        if (!Array.isArray(digests)) throw new DisclosureError('_sd is not an array');
        for (const digest of digests) {
          const disclosure = referenced(digest);
          if (!disclosure) continue;
          if (disclosure.name === undefined) throw new DisclosureError('an object property disclosure has no claim name');
          if (Object.hasOwn(out, disclosure.name))
            throw new DisclosureError(`the disclosed claim ${disclosure.name} collides with a plaintext claim`);
          if (depth === 1 && rules.neverDisclosedAtTop?.has(disclosure.name)) forbidden.add(disclosure);
          setClaim(out, disclosure.name, walk(disclosure.value, depth + 1));
        }
      }
      return out;
    }
    return value;
  };

  const claims = walk(payload) as Record<string, unknown>;
  if (used.size !== byDigest.size) {
    throw new DisclosureError('a disclosure is not referenced by the credential (tampered, or taken from another credential)');
  }
  if (forbidden.size) {
    // Named in the order the holder sent them (byDigest keeps it), as before the rule moved into the walk.
    const names = [...byDigest.values()].filter((disclosure) => forbidden.has(disclosure)).map((disclosure) => disclosure.name);
    throw new DisclosureError(`${names.join(', ')} may not be selectively disclosed`);
  }
  return claims;
}

export interface KeyBindingExpectations {
  /** The audience and nonce the KB-JWT must name; a VC-API caller may leave either to itself (checked when given). */
  audience?: string;
  nonce?: string;
  nowSeconds: number;
  /** How old a KB-JWT may be, and how far in the future its iat may lie. */
  maxAgeSeconds: number;
  clockSkewSeconds: number;
}

/** Computes a JWS signature check (inline, or elsewhere: see `checkJwsSignature`); a reason when it fails. */
export type SignatureCheck = (jws: DecodedJws, jwk: JsonWebKey) => string | undefined | Promise<string | undefined>;

/** Checks a KB-JWT against the holder key from `cnf.jwk`; returns why when it fails. */
export async function verifyKeyBinding(
  parsed: ParsedSdJwt,
  holderJwk: JsonWebKey,
  expect: KeyBindingExpectations,
  checkSignature: SignatureCheck = verifyJwsSignature,
): Promise<HolderProofProblem | undefined> {
  const problem = await keyBindingProblem(parsed, holderJwk, expect, checkSignature);
  return typeof problem === 'string' ? { reason: problem } : problem;
}

async function keyBindingProblem(
  parsed: ParsedSdJwt,
  holderJwk: JsonWebKey,
  expect: KeyBindingExpectations,
  checkSignature: SignatureCheck,
): Promise<string | HolderProofProblem | undefined> {
  if (!parsed.keyBindingJwt) return 'the presentation has no key-binding JWT';
  let kb;
  try {
    kb = decodeJws(parsed.keyBindingJwt);
  } catch (error) {
    return `the key-binding JWT is malformed: ${(error as Error).message}`;
  }
  if (kb.header['typ'] !== 'kb+jwt') return `the key-binding JWT has typ ${untrustedText(kb.header['typ'])}, expected kb+jwt`;
  const signatureProblem = await checkSignature(kb, holderJwk);
  if (signatureProblem) return `key-binding signature: ${signatureProblem}`;
  const { iat, sd_hash: sdHash } = kb.payload;
  // RFC 9901 §4.3: a KB-JWT carries aud and nonce even where the caller gave nothing to compare them with (when it
  // did, a missing one is compared below, as a proof made for another request).
  const nonce = kb.payload['nonce'];
  if (expect.nonce === undefined && !(typeof nonce === 'string' && nonce.length > 0)) return 'the key-binding JWT has no nonce';
  const aud = kb.payload['aud'];
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (expect.audience === undefined && !(audiences.length > 0 && audiences.every((a) => typeof a === 'string' && a.length > 0)))
    return 'the key-binding JWT has no aud';
  const elsewhere = proofForAnotherRequest(kb.payload, expect, 'the key-binding JWT');
  if (elsewhere) return elsewhere;
  if (typeof iat !== 'number') return 'the key-binding JWT has no iat';
  if (iat > expect.nowSeconds + expect.clockSkewSeconds) return 'the key-binding JWT is issued in the future';
  if (iat < expect.nowSeconds - expect.maxAgeSeconds) return 'the key-binding JWT is too old';
  // RFC 9901 §7.3: otherwise a valid JWT per RFC 7519: an exp or nbf it carries holds too.
  const time = timeClaimsProblem(kb.payload, expect.nowSeconds, expect.clockSkewSeconds);
  if (time === 'expired') return 'the key-binding JWT has expired';
  if (time === 'not yet valid') return 'the key-binding JWT is not valid yet (nbf)';
  if (sdHash !== sha256b64url(parsed.sdHashInput)) return 'the key-binding JWT sd_hash does not match the presented disclosures';
  return undefined;
}
