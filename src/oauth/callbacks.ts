import { hash, randomBytes } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { HashAlgorithm, setGlobalConfig, type CallbackContext, type Jwk, type JwtSigner } from '@openid4vc/oauth2';
import { decodeJws, jwkFromDidJwk, safeHolderPublicJwk, verifyJwsSignatureUnderLoad } from '../credentials/index.js';

export type Oid4vcCallbacks = Omit<CallbackContext, 'decryptJwe' | 'encryptJwe'>;

/** Signs a JWT for one of our own keys, named by its public JWK. */
export type OwnJwtSigner = (publicJwk: Jwk, header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<string>;

const HASHES: Record<string, string> = {
  [HashAlgorithm.Sha256]: 'sha256',
  [HashAlgorithm.Sha384]: 'sha384',
  [HashAlgorithm.Sha512]: 'sha512',
};

/**
 * The key a JWT signer names: an embedded JWK, or a did:jwk, as public members of a key of the signer's
 * alg only (a JWK with private members, or of another curve, verifies nothing). Other methods are refused.
 */
function signerKey(signer: JwtSigner): JsonWebKey | undefined {
  const jwk = signer.method === 'jwk' ? signer.publicJwk : signer.method === 'did' ? jwkFromDidJwk(signer.didUrl) : undefined;
  return jwk ? safeHolderPublicJwk(jwk, [signer.alg]) : undefined;
}

/**
 * The crypto callbacks the @openid4vc protocol layer needs, backed by node:crypto for verification and by
 * src/keys (through `sign`) for our own signatures.
 */
export function oid4vcCallbacks(sign: OwnJwtSigner, fetchImpl: typeof fetch = fetch): Oid4vcCallbacks {
  return {
    fetch: fetchImpl,
    hash: (data, alg) => {
      const name = HASHES[alg];
      if (!name) throw new Error(`Unsupported hash ${alg}`);
      return hash(name, data, 'buffer');
    },
    generateRandom: (length) => randomBytes(length),
    clientAuthentication: () => undefined,
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error('Only JWK signers are supported for our own JWTs');
      return { jwt: await sign(signer.publicJwk, header, payload), signerJwk: signer.publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      const jwk = signerKey(signer);
      if (!jwk) return { verified: false };
      try {
        // Only request handlers get here (proofs, DPoP, attestations): off a saturated event loop (ADR 28).
        const problem = await verifyJwsSignatureUnderLoad(decodeJws(compact), jwk);
        return problem ? { verified: false, signerJwk: jwk as Jwk } : { verified: true, signerJwk: jwk as Jwk };
      } catch {
        return { verified: false };
      }
    },
  };
}

/**
 * The @openid4vc libraries refuse http URLs. Development and tests run on http://localhost, so http is
 * allowed there; production must have an https PUBLIC_URL. The setting is process-wide: called once at
 * start-up (src/app.ts), before any protocol object is made.
 */
export function allowHttpOutsideProduction(baseUrl: string, env: string): void {
  if (!baseUrl.startsWith('http://')) return;
  if (env === 'production') throw new Error('OpenID4VC needs an https PUBLIC_URL in production');
  setGlobalConfig({ allowInsecureUrls: true });
}
