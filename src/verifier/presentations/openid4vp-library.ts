import type { DecryptJweCallback, Jwk } from '@openid4vc/oauth2';
import { Openid4vpVerifier } from '@openid4vc/openid4vp';
import { merged } from '../../common/index.js';
import { oid4vcCallbacks } from '../../oauth/index.js';

/** Signs a request object's header and payload with one relying party's key (through src/keys). */
export type RequestObjectSigning = (header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<string>;

/**
 * The @openid4vc/openid4vp verifier with our callbacks: verification by node:crypto, signing by the party's
 * key (`sign`, absent where nothing is signed), decryption of direct_post.jwt responses by src/keys (`decrypt`).
 * The verifier never encrypts.
 */
export function openid4vpVerifier(options: {
  sign?: RequestObjectSigning;
  signerJwk?: Jwk;
  decrypt?: DecryptJweCallback;
}): Openid4vpVerifier {
  const sign: RequestObjectSigning =
    options.sign ??
    (async () => {
      throw new Error('Request objects are signed with the relying party key (see PresentationRequestService)');
    });
  const callbacks = oid4vcCallbacks((_jwk, header, payload) => sign(header, payload));
  return new Openid4vpVerifier({
    callbacks: merged(callbacks, {
      signJwt: async (
        signer: Parameters<typeof callbacks.signJwt>[0],
        { header, payload }: Parameters<typeof callbacks.signJwt>[1],
      ) => {
        const jwt = await sign(header, payload);
        return { jwt, signerJwk: (signer as { publicJwk?: Jwk }).publicJwk ?? options.signerJwk ?? ({} as Jwk) };
      },
      encryptJwe: () => {
        throw new Error('The verifier does not encrypt');
      },
      decryptJwe: options.decrypt ?? (async () => ({ decrypted: false as const })),
    }),
  });
}
