import type { JsonWebKey } from 'node:crypto';
import { compactJwsProblem, decodeJws, holderPublicJwk, HOLDER_KEY_ALGORITHMS, InvalidHolderKey } from '../credentials/index.js';

/** Holder-key binding methods we advertise (`cryptographic_binding_methods_supported`) and accept in key proofs. */
export const HOLDER_BINDING_METHODS = ['jwk'] as const;

/** Clock skew tolerated for a proof issued "in the future". */
export const PROOF_CLOCK_SKEW_SECONDS = 30;

export const KEY_PROOF_TYP = 'openid4vci-proof+jwt';
export const DPOP_PROOF_TYP = 'dpop+jwt';

export type ProofCheck<T> = { ok: true; value: T } | { ok: false; description: string };

export interface ProofLimits {
  now: Date;
  /** iat must be within [now - maxAgeSeconds, now + PROOF_CLOCK_SKEW_SECONDS]. */
  maxAgeSeconds: number;
  algorithms?: readonly string[];
}

const fail = (description: string): { ok: false; description: string } => ({ ok: false, description });

function iatProblem(iat: unknown, { now, maxAgeSeconds }: ProofLimits): string | undefined {
  const seconds = Math.floor(now.getTime() / 1000);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'the proof has no numeric iat';
  if (iat > seconds + PROOF_CLOCK_SKEW_SECONDS) return 'the proof iat is in the future';
  if (iat < seconds - maxAgeSeconds) return `the proof iat is older than ${maxAgeSeconds} seconds`;
  return undefined;
}

/** The common part of key proofs and DPoP proofs: strict JOSE structure (RFC 8725), typ, pinned alg. */
function strictHeader(compact: unknown, typ: string, algorithms: readonly string[]) {
  if (typeof compact !== 'string') return fail('the proof is not a compact JWS');
  const problem = compactJwsProblem(compact);
  if (problem) return fail(`the proof is malformed: ${problem}`);
  const { header, payload } = decodeJws(compact);
  if (header['typ'] !== typ) return fail(`the proof typ must be ${typ}`);
  if (typeof header['alg'] !== 'string' || !algorithms.includes(header['alg']))
    return fail(`the proof alg must be one of ${algorithms.join(', ')}`);
  return { ok: true as const, header, payload };
}

/** The header's key: public members only, of the curve of the header's (already pinned) alg. */
function publicKey(value: unknown, alg: string): ProofCheck<JsonWebKey> {
  try {
    return { ok: true, value: holderPublicJwk(value, [alg]) };
  } catch (error) {
    return fail(error instanceof InvalidHolderKey ? `holder key refused: ${error.message}` : 'holder key refused');
  }
}

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
 * private members is reported as such), a recent iat and a nonce. Returns the key's public members only.
 */
export function checkKeyProof(compact: unknown, limits: ProofLimits): ProofCheck<{ key: JsonWebKey; nonce: string | undefined }> {
  const algorithms = limits.algorithms ?? HOLDER_KEY_ALGORITHMS;
  const strict = strictHeader(compact, KEY_PROOF_TYP, algorithms);
  if (!strict.ok) return strict;
  const { header, payload } = strict;
  if (header['jwk'] !== undefined && (header['kid'] !== undefined || header['x5c'] !== undefined))
    return fail('the proof must name its key once (jwk, kid or x5c)');
  if (typeof header['kid'] === 'string') {
    const embedded = didJwkKey(header['kid']);
    if (embedded !== undefined) {
      const key = publicKey(embedded, header['alg'] as string);
      if (!key.ok) return key;
    }
    return fail(`the holder key must be given as jwk (supported binding methods: ${HOLDER_BINDING_METHODS.join(', ')})`);
  }
  if (header['jwk'] === undefined)
    return fail(`the holder key must be given as jwk (supported binding methods: ${HOLDER_BINDING_METHODS.join(', ')})`);
  const key = publicKey(header['jwk'], header['alg'] as string);
  if (!key.ok) return key;
  const iat = iatProblem(payload['iat'], limits);
  if (iat) return fail(iat);
  const nonce = payload['nonce'];
  if (nonce !== undefined && typeof nonce !== 'string') return fail('the proof nonce must be a string');
  return { ok: true, value: { key: key.value, nonce } };
}

/**
 * RFC 9449 §4.3 checks the protocol library leaves out or does loosely, done first on the raw header
 * value: strict JWS structure, typ dpop+jwt, an alg of `dpop_signing_alg_values_supported`, a public
 * `jwk` of that alg without private members, a recent iat and a bounded jti. The library then checks
 * the signature, htm, htu, ath and the key thumbprint.
 */
export function checkDpopProof(compact: unknown, limits: ProofLimits): ProofCheck<{ key: JsonWebKey; jti: string }> {
  const algorithms = limits.algorithms ?? HOLDER_KEY_ALGORITHMS;
  const strict = strictHeader(compact, DPOP_PROOF_TYP, algorithms);
  if (!strict.ok) return strict;
  const { header, payload } = strict;
  if (header['kid'] !== undefined || header['x5c'] !== undefined) return fail('the DPoP proof must carry its key as jwk only');
  const key = publicKey(header['jwk'], header['alg'] as string);
  if (!key.ok) return key;
  const iat = iatProblem(payload['iat'], limits);
  if (iat) return fail(iat);
  const jti = payload['jti'];
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
    return fail('the DPoP proof needs a jti of 8 to 256 characters');
  return { ok: true, value: { key: key.value, jti } };
}
