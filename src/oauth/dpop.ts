import { hash, type JsonWebKey } from 'node:crypto';
import { HOLDER_KEY_ALGORITHMS } from '../credentials/index.js';
import type { OAuthError } from '../common/index.js';
import { oauthError, unauthorizedError } from './oauth-errors.js';
import {
  proofFailure,
  proofIatProblem,
  proofPublicKey,
  strictProofHeader,
  type ProofCheck,
  type ProofLimits,
} from './proof-jws.js';

export const DPOP_PROOF_TYP = 'dpop+jwt';
/** DPoP jtis are remembered this much longer than a proof can be recent. */
export const DPOP_JTI_MARGIN_SECONDS = 60;

/**
 * RFC 9449 §4.3 checks the protocol library leaves out or does loosely, done first on the raw header
 * value: strict JWS structure, typ dpop+jwt, an alg of `dpop_signing_alg_values_supported`, a public
 * `jwk` of that alg without private members, a recent iat and a bounded jti. The library then checks
 * the signature, htm, htu, ath and the key thumbprint.
 */
export function checkDpopProof(compact: unknown, limits: ProofLimits): ProofCheck<{ key: JsonWebKey; jti: string }> {
  const algorithms = limits.algorithms ?? HOLDER_KEY_ALGORITHMS;
  const strict = strictProofHeader(compact, DPOP_PROOF_TYP, algorithms);
  if (!strict.ok) return strict;
  const { header, payload } = strict;
  // RFC 9449 §4.2 requires jwk and forbids only private members: a kid beside it (which some JOSE libraries add
  // to every header) is a hint nobody reads here. A certificate chain would name a second key: refused.
  if (header['x5c'] !== undefined) return proofFailure('the DPoP proof must carry its key as jwk, not x5c');
  const key = proofPublicKey(header['jwk'], header['alg'] as string);
  if (!key.ok) return key;
  const iat = proofIatProblem(payload['iat'], limits);
  if (iat) return proofFailure(iat);
  const jti = payload['jti'];
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
    return proofFailure('the DPoP proof needs a jti of 8 to 256 characters');
  return { ok: true, value: { key: key.value, jti } };
}

/**
 * Remembers single-use values until they expire (RFC 9449 §11.1 jti replay). `rememberOnce` is true for
 * exactly one of any number of concurrent callers with the same key, false for the others and for every
 * later caller until `expiresAt` has passed and the value was purged.
 */
export interface JtiReplayStore {
  rememberOnce(key: string, expiresAt: Date): Promise<boolean>;
}

/** The stored form of a jti: hashed, so a client's text is never a key, and namespaced. */
export const dpopReplayKey = (jti: string): string => `dpop:${hash('sha256', jti, 'base64url')}`;

/** A bad DPoP proof: invalid_dpop_proof, at the token endpoint as a 400, at a resource as a 401 with a challenge. */
export function dpopError(status: 400 | 401, description: string): OAuthError {
  if (status === 400) return oauthError(400, 'invalid_dpop_proof', description);
  return unauthorizedError({
    schemes: ['DPoP'],
    dpopAlgs: HOLDER_KEY_ALGORITHMS,
    error: { scheme: 'DPoP', code: 'invalid_dpop_proof', description },
  });
}

/**
 * A DPoP proof, when the request carries one, is well formed and recent (checkDpopProof) and its jti is
 * used once: remembered for as long as the proof could be recent, plus a margin. Throws invalid_dpop_proof.
 */
export async function assertFreshDpop(
  proof: string | null,
  options: { now: Date; maxAgeSeconds: number; replay: JtiReplayStore; status: 400 | 401 },
): Promise<void> {
  if (proof === null) return;
  const { now, maxAgeSeconds, replay, status } = options;
  const checked = checkDpopProof(proof, { now, maxAgeSeconds });
  if (!checked.ok) throw dpopError(status, `The DPoP proof is invalid: ${checked.description}`);
  const rememberedUntil = new Date(now.getTime() + (maxAgeSeconds + DPOP_JTI_MARGIN_SECONDS) * 1000);
  if (!(await replay.rememberOnce(dpopReplayKey(checked.value.jti), rememberedUntil)))
    throw dpopError(status, 'The DPoP proof was already used');
}
