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
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  clientAuthenticationDynamic,
  HashAlgorithm,
  type Jwk,
  type JwtSigner,
  type RequestDpopOptions,
  type SignJwtCallback,
  type VerifyJwtCallback,
  type EncryptJweCallback,
} from '@openid4vc/oauth2';
import { Openid4vciClient, Openid4vciRetrieveCredentialsError, type IssuerMetadataResult } from '@openid4vc/openid4vci';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';

/**
 * The test and benchmark wallet: other people's code (the @openid4vc clients, @sd-jwt) with our keys in
 * memory. It uses no test-framework globals, so bench/ can drive the service with it too.
 */

export const PRE_AUTHORIZED_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
/** The client_id the test wallet names itself by (a public client). */
export const WALLET_CLIENT_ID = 'citizen-wallet';

/** The pre-authorized code inside an offer-by-value link, for tests that talk to the token endpoint raw. */
export const preAuthorizedCodeOf = (link: string): string =>
  JSON.parse(new URL(link).searchParams.get('credential_offer')!).grants[PRE_AUTHORIZED_GRANT]['pre-authorized_code'];

/** The OAuth error code of a refusal the @openid4vc client reports (rethrows anything else). */
export function clientErrorCode(error: unknown): string {
  if (error instanceof Oauth2ClientErrorResponseError) return error.errorResponse.error;
  const response = (error as { response?: { credentialErrorResponseResult?: { data?: { error?: string } } } }).response;
  if (error instanceof Openid4vciRetrieveCredentialsError) {
    // The client does not parse deferred-endpoint errors; it puts the response body into the message.
    const body = error.message.slice(error.message.indexOf('\n') + 1);
    return (
      response?.credentialErrorResponseResult?.data?.error ?? (JSON.parse(JSON.parse(body) as string) as { error: string }).error
    );
  }
  throw error;
}

export interface HeldCredential {
  credential: string;
  holderKey: Jwk;
}

/** Anything that can create an offer at the agency API (a TestApp, or a benchmark's HTTP client). */
export interface OfferingService {
  call(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string },
  ): Promise<{ status: number; body: { credentialOffer?: string; txCode?: string } }>;
}

export interface CredentialRequestOptions {
  issuerMetadata: IssuerMetadataResult;
  accessToken: string;
  configurationId: string;
  dpop?: RequestDpopOptions;
  holderKey?: Jwk;
  /** The key proof's iss (OID4VCI 1.0 F.1: the wallet's client_id); none when omitted. */
  clientId?: string;
}

/** What the wallet resolved of a presentation request: the request and its DCQL query. */
export interface ResolvedPresentationRequest {
  request: { nonce: string; client_id: string; response_uri: string; response_mode: string };
  query: { credentials: { id: string; claims: { path: string[] }[] }[] };
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
  /** What the @openid4vc OAuth and OID4VCI clients (and their resourceRequest) need from a public wallet. */
  const clientCallbacks = {
    fetch,
    signJwt,
    hash,
    generateRandom: (length: number) => randomBytes(length),
    // A public client (token_endpoint_auth_methods_supported: none): it names itself with client_id where RFC 6749
    // asks for it (the authorization code exchange), and stays anonymous for the pre-authorized code (OID4VCI §6.1).
    clientAuthentication: clientAuthenticationDynamic({ clientId: WALLET_CLIENT_ID, clientSecret: '' }),
  };
  const vci = new Openid4vciClient({ callbacks: clientCallbacks });
  const oauth2 = new Oauth2Client({ callbacks: clientCallbacks });
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

  /**
   * The wallet at the credential endpoint: a fresh c_nonce from the nonce endpoint, a key proof with it
   * for `holderKey` (a new key unless given), and the credential request (DPoP-bound when `dpop` is given).
   * Returns the client's result (a 202 when the issuer defers) and the holder key.
   */
  async function sendCredentialRequest(options: CredentialRequestOptions) {
    const { issuerMetadata, accessToken, configurationId, dpop } = options;
    const holderKey = options.holderKey ?? newKey();
    const { c_nonce: nonce } = await vci.requestNonce({ issuerMetadata });
    const { jwt } = await vci.createCredentialRequestJwtProof({
      credentialConfigurationId: configurationId,
      issuerMetadata,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holderKey },
      nonce,
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    });
    const result = await vci.retrieveCredentials({
      issuerMetadata,
      accessToken,
      credentialConfigurationId: configurationId,
      ...(dpop ? { dpop } : {}),
      proof: { proof_type: 'jwt', jwt },
    });
    return { ...result, holderKey };
  }

  /** sendCredentialRequest for a credential issued at once: also returns the (first) credential. */
  async function requestCredential(options: CredentialRequestOptions) {
    const result = await sendCredentialRequest(options);
    const first = result.credentialResponse.credentials?.[0] as { credential: string } | undefined;
    if (!first) throw new Error(`No credential in the response (status ${result.response.status})`);
    return { ...result, credential: first.credential };
  }

  /** OID4VCI pre-authorized flow for an offer link: the offer, the issuer's metadata, the token, then one credential. */
  async function receiveOffer(
    link: string,
    options: { txCode?: string; configurationId?: string } = {},
  ): Promise<HeldCredential> {
    const credentialOffer = await vci.resolveCredentialOffer(link);
    const issuerMetadata = await vci.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await vci.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      ...(options.txCode ? { txCode: options.txCode } : {}),
    });
    const { credential, holderKey } = await requestCredential({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: options.configurationId ?? credentialOffer.credential_configuration_ids[0]!,
    });
    return { credential, holderKey };
  }

  /** An agency offers `offer` (no PIN unless it asks for one) and the wallet takes it. */
  async function receive(service: OfferingService, apiKey: string, offer: Record<string, unknown>): Promise<HeldCredential> {
    const created = await service.call('POST', '/agency/offers', { token: apiKey, body: offer });
    if (created.status !== 201 || !created.body.credentialOffer) throw new Error(`No offer: ${created.status}`);
    return receiveOffer(created.body.credentialOffer, { txCode: created.body.txCode });
  }

  /** Resolves an openid4vp:// link (fetching and checking a signed request object) to the request and its DCQL query. */
  async function resolveRequest(link: string): Promise<ResolvedPresentationRequest> {
    const parsed = vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: link });
    const resolved = await vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params as never });
    return {
      request: resolved.authorizationRequestPayload as ResolvedPresentationRequest['request'],
      query: resolved.dcql!.query as ResolvedPresentationRequest['query'],
    };
  }

  /** An SD-JWT presentation of `held` disclosing the claims the first credential query names, with a KB-JWT. */
  async function present(
    held: HeldCredential,
    resolved: ResolvedPresentationRequest,
    nonce = resolved.request.nonce,
    iat = Math.floor(Date.now() / 1000),
  ) {
    const frame = Object.fromEntries(resolved.query.credentials[0]!.claims.map((claim) => [claim.path[0], true]));
    const holder = new SDJwtVcInstance({
      hasher: digest,
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(privateJwk(held.holderKey)),
      kbSignAlg: 'ES256',
    });
    return holder.present(held.credential, frame, {
      kb: { payload: { iat, aud: resolved.request.client_id, nonce } },
    });
  }

  /** Builds the authorization response for `vpToken` (encrypted for direct_post.jwt) and posts it to response_uri. */
  async function submit(resolved: ResolvedPresentationRequest, vpToken: Record<string, string[]>) {
    const { request } = resolved;
    const encrypted = request.response_mode === 'direct_post.jwt';
    const response: { authorizationResponsePayload: Record<string, unknown>; jarm?: { responseJwt: string } } =
      await vp.createOpenid4vpAuthorizationResponse({
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
    const submitted = await vp.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request as never,
      authorizationResponsePayload: response.authorizationResponsePayload as never,
      jarm: response.jarm,
    });
    return {
      status: submitted.response.status,
      body: (await submitted.response.json().catch(() => ({}))) as Record<string, unknown>,
      response,
    };
  }

  /** One OID4VP presentation: resolve the link, disclose only the claims DCQL names, submit the response. */
  async function answer(link: string, held: HeldCredential, tamper?: { nonce?: string }) {
    const resolved = await resolveRequest(link);
    const presentation = await present(held, resolved, tamper?.nonce);
    const submitted = await submit(resolved, { [resolved.query.credentials[0]!.id]: [presentation] });
    return { ...submitted, presentation, request: resolved.request };
  }

  return {
    client: vci,
    vci,
    vp,
    oauth2,
    clientCallbacks,
    newKey,
    signJwt,
    privateJwk,
    sendCredentialRequest,
    requestCredential,
    receiveOffer,
    receive,
    resolveRequest,
    present,
    submit,
    answer,
    trust: (certificate: string) => trusted.add(certificate),
  };
}

/**
 * The issuer's sign-in form for a pushed authorization request, posted as the citizen's browser does
 * (`client_id` and `request_uri` from the authorization URL the wallet opened, plus the form's fields);
 * the redirect is not followed, so the caller reads the code from `location`.
 */
export function signInAtIssuer(baseUrl: string, authorizeUrl: URL, fields: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/oid4vci/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: authorizeUrl.searchParams.get('client_id')!,
      request_uri: authorizeUrl.searchParams.get('request_uri')!,
      ...fields,
    }),
  });
}
