import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  createPublicKey,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import {
  clientAuthenticationAnonymous,
  HashAlgorithm,
  type Jwk,
  type JwtSigner,
  type SignJwtCallback,
  type VerifyJwtCallback,
  type EncryptJweCallback,
} from '@openid4vc/oauth2';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import type { TestApp } from './test-app.js';

export interface HeldCredential {
  credential: string;
  holderKey: Jwk;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The key a verifier names in a JWT it sends the wallet: an embedded JWK, a did:jwk, or an X.509 leaf
 * certificate the wallet trusts (a real wallet would validate a chain to its trust anchors).
 */
function signerKey(signer: JwtSigner, trusted: Set<string>): Jwk | undefined {
  if (signer.method === 'jwk') return signer.publicJwk;
  if (signer.method === 'x5c') {
    if (!trusted.has(signer.x5c[0]!)) return undefined;
    return new X509Certificate(Buffer.from(signer.x5c[0]!, 'base64')).publicKey.export({ format: 'jwk' }) as Jwk;
  }
  if (signer.method === 'did' && signer.didUrl.startsWith('did:jwk:')) {
    return JSON.parse(Buffer.from(signer.didUrl.slice('did:jwk:'.length).split('#')[0]!, 'base64url').toString()) as Jwk;
  }
  return undefined;
}

/**
 * A citizen's wallet for the tests: its keys, and the crypto callbacks the @openid4vc client libraries
 * need. All protocol messages are built and checked by those libraries, not by us.
 */
export function wallet(trustedCertificates: string[] = []) {
  const trusted = new Set(trustedCertificates);
  const keys = new Map<string, KeyObject>();
  const newKey = (): Jwk => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Jwk;
    keys.set(jwk.x!, privateKey);
    return jwk;
  };
  const privateJwk = (publicJwk: Jwk) => keys.get(publicJwk.x!)!.export({ format: 'jwk' });
  const signJwt: SignJwtCallback = async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error('wallet signs with jwk signers only');
    const input = `${b64(header)}.${b64(payload)}`;
    const signature = nodeSign('sha256', Buffer.from(input), { key: keys.get(signer.publicJwk.x!)!, dsaEncoding: 'ieee-p1363' });
    return { jwt: `${input}.${signature.toString('base64url')}`, signerJwk: signer.publicJwk };
  };
  const verifyJwt: VerifyJwtCallback = async (signer, { compact }) => {
    const jwk = signerKey(signer, trusted);
    if (!jwk) return { verified: false };
    const [header, payload, signature] = compact.split('.');
    const verified = nodeVerify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature!, 'base64url'),
    );
    return verified ? { verified: true, signerJwk: jwk } : { verified: false };
  };
  const encryptJwe: EncryptJweCallback = async (encryptor, data) => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: encryptor.enc, kid: encryptor.publicJwk.kid })
      .encrypt(await importJWK(encryptor.publicJwk as never, 'ECDH-ES'));
    return { encryptionJwk: encryptor.publicJwk, jwe };
  };
  const hash = (data: Uint8Array, alg: HashAlgorithm) =>
    createHash(alg === HashAlgorithm.Sha256 ? 'sha256' : 'sha384')
      .update(data)
      .digest();
  const vci = new Openid4vciClient({
    callbacks: {
      fetch,
      signJwt,
      hash,
      generateRandom: (length) => randomBytes(length),
      clientAuthentication: clientAuthenticationAnonymous(),
    },
  });
  const vp = new Openid4vpClient({
    callbacks: {
      fetch,
      signJwt,
      verifyJwt,
      hash,
      encryptJwe,
      decryptJwe: () => Promise.reject(new Error('wallet does not decrypt')),
      getX509CertificateMetadata: (certificate: string) => {
        const names = (new X509Certificate(Buffer.from(certificate, 'base64')).subjectAltName ?? '').split(', ');
        return {
          sanDnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4)),
          sanUriNames: names.filter((name) => name.startsWith('URI:')).map((name) => name.slice(4)),
        };
      },
    },
  });

  /** OID4VCI pre-authorized flow (no PIN) for one SD-JWT VC; returns it with its holder key. */
  async function receive(app: TestApp, apiKey: string, offer: Record<string, unknown>): Promise<HeldCredential> {
    const created = await app.call('POST', '/agency/offers', { token: apiKey, body: offer });
    const credentialOffer = await vci.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await vci.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await vci.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata });
    const holderKey = newKey();
    const configurationId = credentialOffer.credential_configuration_ids[0]!;
    const { c_nonce: nonce } = await vci.requestNonce({ issuerMetadata });
    const { jwt } = await vci.createCredentialRequestJwtProof({
      credentialConfigurationId: configurationId,
      issuerMetadata,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holderKey },
      nonce,
    });
    const { credentialResponse } = await vci.retrieveCredentials({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configurationId,
      proof: { proof_type: 'jwt', jwt },
    });
    return { credential: (credentialResponse.credentials![0] as { credential: string }).credential, holderKey };
  }

  /** One OID4VP presentation: resolve the link, disclose only the claims DCQL names, submit the response. */
  async function answer(link: string, held: HeldCredential, tamper?: { nonce?: string }) {
    const parsed = vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: link });
    const resolved = await vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params as never });
    const request = resolved.authorizationRequestPayload as {
      nonce: string;
      client_id: string;
      response_uri: string;
      response_mode: string;
    };
    const query = resolved.dcql!.query as { credentials: { id: string; claims: { path: string[] }[] }[] };
    const frame = Object.fromEntries(query.credentials[0]!.claims.map((claim) => [claim.path[0], true]));
    const holder = new SDJwtVcInstance({
      hasher: digest,
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(privateJwk(held.holderKey)),
      kbSignAlg: 'ES256',
    });
    const presentation = await holder.present(held.credential, frame, {
      kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.client_id, nonce: tamper?.nonce ?? request.nonce } },
    });
    const encrypted = request.response_mode === 'direct_post.jwt';
    const response: { authorizationResponsePayload: Record<string, unknown>; jarm?: { responseJwt: string } } =
      await vp.createOpenid4vpAuthorizationResponse({
        authorizationRequestPayload: request as never,
        authorizationResponsePayload: { vp_token: { [query.credentials[0]!.id]: [presentation] } },
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
    const submitted = await vp.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request as never,
      authorizationResponsePayload: response.authorizationResponsePayload as never,
      jarm: response.jarm,
    });
    return {
      status: submitted.response.status,
      body: (await submitted.response.json().catch(() => ({}))) as Record<string, unknown>,
      presentation,
      request,
      response,
    };
  }

  return {
    client: vci,
    vci,
    vp,
    newKey,
    signJwt,
    privateJwk,
    receive,
    answer,
    trust: (certificate: string) => trusted.add(certificate),
  };
}
