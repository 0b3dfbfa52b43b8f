import type { JsonWebKey } from 'node:crypto';
import { compactJwsProblem, decodeJws, holderPublicJwk, InvalidHolderKey } from '../credentials/index.js';

/**
 * The parts shared by the two proofs a wallet signs with its own key, the OID4VCI key proof and the
 * RFC 9449 DPoP proof: strict JOSE structure, typ, pinned alg, a public key, a recent iat.
 */

/** Clock skew tolerated for a proof issued "in the future". */
export const PROOF_CLOCK_SKEW_SECONDS = 30;

export type ProofCheck<T> = { ok: true; value: T } | { ok: false; description: string };

export interface ProofLimits {
  now: Date;
  /** iat must be within [now - maxAgeSeconds, now + PROOF_CLOCK_SKEW_SECONDS]. */
  maxAgeSeconds: number;
  algorithms?: readonly string[];
}

export const proofFailure = (description: string): { ok: false; description: string } => ({ ok: false, description });

export function proofIatProblem(iat: unknown, { now, maxAgeSeconds }: ProofLimits): string | undefined {
  const seconds = Math.floor(now.getTime() / 1000);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'the proof has no numeric iat';
  if (iat > seconds + PROOF_CLOCK_SKEW_SECONDS) return 'the proof iat is in the future';
  if (iat < seconds - maxAgeSeconds) return `the proof iat is older than ${maxAgeSeconds} seconds`;
  return undefined;
}

/** Strict JOSE structure (RFC 8725: no repeated members, no crit), typ, and an alg of `algorithms`. */
export function strictProofHeader(compact: unknown, typ: string, algorithms: readonly string[]) {
  if (typeof compact !== 'string') return proofFailure('the proof is not a compact JWS');
  const problem = compactJwsProblem(compact);
  if (problem) return proofFailure(`the proof is malformed: ${problem}`);
  const { header, payload } = decodeJws(compact);
  if (header['typ'] !== typ) return proofFailure(`the proof typ must be ${typ}`);
  if (typeof header['alg'] !== 'string' || !algorithms.includes(header['alg']))
    return proofFailure(`the proof alg must be one of ${algorithms.join(', ')}`);
  return { ok: true as const, header, payload };
}

/** The header's key: public members only, of the curve of the header's (already pinned) alg. */
export function proofPublicKey(value: unknown, alg: string): ProofCheck<JsonWebKey> {
  try {
    return { ok: true, value: holderPublicJwk(value, [alg]) };
  } catch (error) {
    return proofFailure(error instanceof InvalidHolderKey ? `holder key refused: ${error.message}` : 'holder key refused');
  }
}
