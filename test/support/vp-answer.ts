import type { Jwk } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import type { HeldCredential, wallet } from './wallet.js';

type Wallet = ReturnType<typeof wallet>;

/**
 * An OID4VP answer whose vp_token the test shapes itself (a misbehaving wallet), built and submitted with
 * the @openid4vc/openid4vp client of h1's test wallet. `shape` gets one fresh presentation of each held
 * credential (disclosing the claims the first credential query names) and returns the vp_token.
 */
export async function answerWithVpToken(
  citizen: Wallet,
  link: string,
  held: HeldCredential[],
  shape: (presentations: string[], queryIds: string[]) => Record<string, string[]>,
) {
  const parsed = citizen.vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: link });
  const resolved = await citizen.vp.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params as never,
  });
  const request = resolved.authorizationRequestPayload as {
    nonce: string;
    client_id: string;
    response_uri: string;
    response_mode: string;
  };
  const query = resolved.dcql!.query as { credentials: { id: string; claims: { path: string[] }[] }[] };
  const frame = Object.fromEntries(query.credentials[0]!.claims.map((claim) => [claim.path[0], true]));
  const presentations: string[] = [];
  for (const { credential, holderKey } of held) {
    const holder = new SDJwtVcInstance({
      hasher: digest,
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(citizen.privateJwk(holderKey as Jwk)),
      kbSignAlg: 'ES256',
    });
    presentations.push(
      await holder.present(credential, frame, {
        kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.client_id, nonce: request.nonce } },
      }),
    );
  }
  const vpToken = shape(
    presentations,
    query.credentials.map((credential) => credential.id),
  );
  const encrypted = request.response_mode === 'direct_post.jwt';
  const response: { authorizationResponsePayload: Record<string, unknown>; jarm?: { responseJwt: string } } =
    await citizen.vp.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request as never,
      authorizationResponsePayload: { vp_token: vpToken },
      ...(encrypted
        ? {
            jarm: {
              encryption: { nonce: request.nonce },
              serverMetadata: {
                authorization_encryption_alg_values_supported: ['ECDH-ES'],
                authorization_encryption_enc_values_supported: ['A128GCM'],
              },
            },
          }
        : {}),
    } as never);
  const submitted = await citizen.vp.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request as never,
    authorizationResponsePayload: response.authorizationResponsePayload as never,
    jarm: response.jarm,
  });
  return {
    status: submitted.response.status,
    body: (await submitted.response.json().catch(() => ({}))) as Record<string, unknown>,
  };
}
