import { createHash, randomUUID } from 'node:crypto';
import { getAddress, recoverAddress, Signature } from 'ethers';
import { isEthereumAddress } from '../../common/index.js';
import { b64url, b64urlJson, decodeJws } from '../../credentials/index.js';

/**
 * The short-lived token a required department presents to the issuing department to read an application's
 * content (issue 16, ADR 17): a compact JWS, alg ES256K, signed by the requesting department's controller
 * key (through src/keys). The issuer recovers the signer from the signature, checks it is the `iss`, then
 * that it is a required department of the application's policy on chain (the caller of verifyPeerToken).
 */
export const PEER_TOKEN_AUDIENCE = 'chancery:approval-content';
export const PEER_TOKEN_TTL_SECONDS = 60;
/** Clock skew tolerated between departments. */
const SKEW_SECONDS = 30;

export interface PeerTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

/** The JWS signing input of a token asking for one application's content, and the digest to sign (SHA-256). */
export function peerTokenSigningInput(controller: string, applicationId: string, now: number) {
  const claims: PeerTokenClaims = {
    iss: getAddress(controller),
    sub: applicationId.toLowerCase(),
    aud: PEER_TOKEN_AUDIENCE,
    iat: now,
    exp: now + PEER_TOKEN_TTL_SECONDS,
    jti: randomUUID(),
  };
  const signingInput = `${b64urlJson({ alg: 'ES256K', typ: 'JWT' })}.${b64urlJson(claims)}`;
  return { signingInput, digest: createHash('sha256').update(signingInput).digest() };
}

/** The compact JWS from the signing input and the signature (r ‖ s, 64 bytes, as JWS ES256K wants). */
export const peerToken = (signingInput: string, signature: { r: string; s: string }): string =>
  `${signingInput}.${b64url(Buffer.concat([Buffer.from(signature.r.slice(2), 'hex'), Buffer.from(signature.s.slice(2), 'hex')]))}`;

/** Checks the token for this application; returns the signer's (the iss) address. Throws with a reason otherwise. */
export function verifyPeerToken(token: string, applicationId: string, now: number): string {
  // The shared JWS decoder: three parts, base64url JSON objects, no repeated members, no crit, bounded.
  const { header, payload, signingInput, signature } = decodeJws(token);
  const claims = payload as Partial<PeerTokenClaims>;
  if (header.alg !== 'ES256K') throw new Error('alg must be ES256K');
  if (claims.aud !== PEER_TOKEN_AUDIENCE || claims.sub !== applicationId.toLowerCase())
    throw new Error('token for another resource');
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') throw new Error('no iat/exp');
  if (claims.exp < now - SKEW_SECONDS || claims.iat > now + SKEW_SECONDS || claims.exp - claims.iat > PEER_TOKEN_TTL_SECONDS)
    throw new Error('token expired or too long-lived');
  if (!isEthereumAddress(claims.iss)) throw new Error('iss must be an address');
  if (signature.length !== 64) throw new Error('bad signature length');
  const digest = createHash('sha256').update(signingInput).digest();
  const r = '0x' + signature.subarray(0, 32).toString('hex');
  const s = '0x' + signature.subarray(32).toString('hex');
  const issuer = getAddress(claims.iss);
  for (const yParity of [0, 1] as const) {
    try {
      if (recoverAddress(digest, Signature.from({ r, s, yParity })) === issuer) return issuer;
    } catch {
      // not a valid signature for this recovery id
    }
  }
  throw new Error('signature is not by iss');
}
