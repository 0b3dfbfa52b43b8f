import { verifyCredential as didJwtVcVerify } from 'did-jwt-vc';
import type { Jwk } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { Database } from '../src/persistence/index.js';
import { sha256Hex } from '../src/common/index.js';
import { AuthorizationSessionEntity } from '../src/issuer/index.js';
import { NotificationRepository } from '../src/issuer/credential-endpoint/notification.repository.js';
import { LOGIN_TTL_SECONDS } from '../src/oid4vci/index.js';
import { StatusService } from '../src/status/index.js';
import { createActiveAgency, eventually, independentResolver, startTestApp, type TestApp } from './support/test-app.js';
import { clientErrorCode, wallet, signInAtIssuer } from './support/wallet.js';
import { CHINESE_DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const LICENCE = CHINESE_DRIVING_LICENCE_CLAIMS;

describe('OpenID4VCI 1.0, driven by the @openid4vc/openid4vci client as a wallet', () => {
  let app: TestApp;
  let apiKey: string;
  let agencyDid: string;
  let independent: Awaited<ReturnType<typeof independentResolver>>;

  const offer = (body: Record<string, unknown> = {}) =>
    app.call('POST', '/agency/offers', {
      token: apiKey,
      body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE, ...body },
    });
  const oauthError = clientErrorCode;

  beforeAll(async () => {
    app = await startTestApp({ OID4VCI_WALLET_REDIRECT_URIS: 'https://wallet.example/callback' });
    const created = await createActiveAgency(app, 'dmv', 'Vehicle Administration 车辆管理所', ['driving-licence']);
    apiKey = created.apiKey;
    agencyDid = created.agency.did;
    independent = await independentResolver(app);
  });
  afterAll(async () => {
    independent?.close();
    await app?.close();
  });

  it('issues an SD-JWT VC through the pre-authorized code flow with a PIN and DPoP', async () => {
    const created = await offer();
    expect(created.status).toBe(201);
    expect(created.body.credentialOffer).toMatch(/^openid-credential-offer:\/\/\?credential_offer=/);
    expect(created.body.txCode).toMatch(/^\d{6}$/);
    expect(created.body.qr.png).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(created.body.qr.svg).toContain('<svg');

    const { client, newKey, requestCredential } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const configurationId = credentialOffer.credential_configuration_ids[0]!;
    expect(configurationId).toBe('driving-licence.sd_jwt');
    const displayed = (
      issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId] as {
        credential_metadata: { display: { name: string; locale: string }[] };
      }
    ).credential_metadata.display;
    expect(displayed).toEqual(
      expect.arrayContaining([{ name: '机动车驾驶证', locale: 'zh-CN', description: expect.any(String) }]),
    );

    const dpopKey = newKey();
    const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: created.body.txCode,
      dpop: { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey } },
    });
    expect(accessTokenResponse.token_type).toBe('DPoP');
    expect(accessTokenResponse.expires_in).toBe(app.config.oid4vci.accessTokenTtlSeconds);

    const { credentialResponse, credential, holderKey } = await requestCredential({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId,
      dpop,
    });

    // Checked by @sd-jwt/sd-jwt-vc with the issuer key found by ethr-did-resolver on chain.
    const kid = decodeProtectedHeader(credential.split('~')[0]!).kid!;
    const issuerJwk = await independent.issuerJwk(kid);
    const { payload } = await new SDJwtVcInstance({ hasher: digest, verifier: await ES256.getVerifier(issuerJwk) }).verify(
      credential,
    );
    expect(payload).toEqual(
      expect.objectContaining({ iss: agencyDid, cnf: { jwk: expect.objectContaining({ x: holderKey.x, y: holderKey.y }) } }),
    );
    expect(payload).toEqual(expect.objectContaining(LICENCE));
    const ours = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
    expect(ours.body.verified).toBe(true);

    const notify = () =>
      client.sendNotification({
        issuerMetadata,
        accessToken: accessTokenResponse.access_token,
        dpop,
        notification: { notificationId: credentialResponse.notification_id!, event: 'credential_accepted' },
      });
    await notify();
    await notify(); // idempotent (OID4VCI 1.0 §11)
    const notificationId = credentialResponse.notification_id!;
    expect(await app.app.get(NotificationRepository).byId(notificationId)).toMatchObject({ event: 'credential_accepted' });
    // §11.1: "one or more Notification Requests per notification_id": the citizen later deletes the credential.
    await client.sendNotification({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      dpop,
      notification: { notificationId, event: 'credential_deleted', eventDescription: 'removed by the holder' },
    });
    expect(await app.app.get(NotificationRepository).byId(notificationId)).toMatchObject({
      event: 'credential_deleted',
      description: 'removed by the holder',
    });

    // The code is spent.
    const again = await client
      .retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode: created.body.txCode })
      .catch((error: unknown) => oauthError(error));
    expect(again).toBe('invalid_grant');
  });

  it('issues JWT VCs from an offer by reference, one per proof in a batch, and refuses replayed nonces', async () => {
    const created = await offer({ formats: ['jwt_vc_json'], byReference: true, txCode: false });
    expect(created.body.credentialOffer).toContain('credential_offer_uri=');
    expect(created.body.txCode).toBeUndefined();
    // The offer id (in the agency's answer, logs and the audit trail) does not open the offer: the reference is keyed.
    const reference = new URL(created.body.credentialOfferUri).pathname;
    expect(reference).toMatch(new RegExp(`/oid4vci/offers/${created.body.offerId}\\.[A-Za-z0-9_-]{43}$`));
    for (const guess of [created.body.offerId, `${created.body.offerId}.${'A'.repeat(43)}`, `${reference.split('/').pop()}x`])
      expect((await app.call('GET', `/oid4vci/offers/${guess}`)).status).toBe(404);
    const { client, newKey, signJwt } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const configurationId = 'driving-licence.jwt_vc';
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
    });
    expect(accessTokenResponse.token_type).toBe('Bearer');
    // Not sender-constrained: at most five minutes (OID4VCI 1.0 §13), though the configured life is longer.
    expect(app.config.oid4vci.accessTokenTtlSeconds).toBeGreaterThan(300);
    expect(accessTokenResponse.expires_in).toBe(300);
    const accessPayload = JSON.parse(Buffer.from(accessTokenResponse.access_token.split('.')[1]!, 'base64url').toString());
    expect(accessPayload.exp - accessPayload.iat).toBe(300);

    const proofFor = async (key: Jwk, nonce: string) =>
      (
        await client.createCredentialRequestJwtProof({
          credentialConfigurationId: configurationId,
          issuerMetadata,
          signer: { method: 'jwk', alg: 'ES256', publicJwk: key },
          nonce,
        })
      ).jwt;
    const keys = [newKey(), newKey()];
    const nonces = [
      (await client.requestNonce({ issuerMetadata })).c_nonce,
      (await client.requestNonce({ issuerMetadata })).c_nonce,
    ];

    // A proof addressed to another issuer is refused.
    const now = Math.floor(Date.now() / 1000);
    const { jwt: wrongAudience } = await signJwt(
      { method: 'jwk', alg: 'ES256', publicJwk: keys[0]! },
      {
        header: { alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: keys[0]! },
        payload: { aud: 'https://other-issuer.example', iat: now, nonce: nonces[0]! },
      },
    );
    const retrieve = (jwts: string[]) =>
      client.retrieveCredentials({
        issuerMetadata,
        accessToken: accessTokenResponse.access_token,
        credentialConfigurationId: configurationId,
        proofs: { jwt: jwts },
      });
    expect(await retrieve([wrongAudience]).catch(oauthError)).toBe('invalid_proof');

    const { credentialResponse } = await retrieve([await proofFor(keys[0]!, nonces[0]!), await proofFor(keys[1]!, nonces[1]!)]);
    const credentials = credentialResponse.credentials!.map((entry) => (entry as { credential: string }).credential);
    expect(credentials).toHaveLength(2);
    for (const [index, credential] of credentials.entries()) {
      const kid = decodeProtectedHeader(credential).kid!;
      const key = await importJWK((await independent.issuerJwk(kid)) as JWK, 'ES256');
      // OID4VCI 1.0 A.1.1: a VCDM 1.1 credential as a JWT (1.1 §6.3.1): the document in `vc`, the holder in `sub`.
      const { payload } = await jwtVerify(credential, key, { issuer: agencyDid, typ: 'JWT' });
      const vc = payload['vc'] as { '@context': string[]; type: string[]; credentialSubject: Record<string, unknown> };
      expect(vc['@context'][0]).toBe('https://www.w3.org/2018/credentials/v1');
      expect(vc.type).toEqual(['VerifiableCredential', 'DrivingLicenceCredential']);
      expect(vc.credentialSubject['family_name']).toBeDefined();
      expect(JSON.parse(Buffer.from(payload.sub!.slice('did:jwk:'.length), 'base64url').toString()).x).toBe(keys[index]!.x);
      // A VCDM 1.1 JWT library reads it as the same credential (issuer, holder, claims).
      const read = await didJwtVcVerify(credential, independent.resolver as never);
      expect(read.verifiableCredential.issuer.id).toBe(agencyDid);
      expect(read.verifiableCredential.credentialSubject.id).toBe(payload.sub);
    }
    // Ours verifies it with its status, and sees its revocation.
    const verified = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credentials[0] } });
    expect(verified.body.verified).toBe(true);
    expect(verified.body.checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'status', passed: true })]));
    const credentialId = String(decodeJwt(credentials[0]!).jti).replace(/^urn:uuid:/, '');
    const revoked = await app.call('POST', `/credentials/${credentialId}/status`, {
      token: apiKey,
      body: { action: 'revoke', reason: 'issued in error' },
    });
    expect(revoked.status).toBe(200);
    await app.app.get(StatusService).publishPending();
    const refused = await eventually(async () => {
      const reply = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credentials[0] } });
      return reply.status === 400 ? reply : undefined;
    });
    expect(refused.body.checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'status', passed: false })]));

    // A nonce is good for one proof only, even in a new request.
    const created2 = await offer({ formats: ['jwt_vc_json'], txCode: false });
    const offer2 = await client.resolveCredentialOffer(created2.body.credentialOffer);
    const token2 = (await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer2, issuerMetadata }))
      .accessTokenResponse;
    const replayed = await client
      .retrieveCredentials({
        issuerMetadata,
        accessToken: token2.access_token,
        credentialConfigurationId: configurationId,
        proof: { proof_type: 'jwt', jwt: await proofFor(keys[0]!, nonces[0]!) },
      })
      .catch(oauthError);
    expect(replayed).toBe('invalid_nonce');
    expect(decodeJwt(credentials[0]!).iss).toBe(agencyDid);
  });

  it('issues through the authorization code flow with PAR, PKCE S256 and the citizen login', async () => {
    const created = await offer({ flow: 'authorization_code' });
    expect(created.status).toBe(201);
    expect(created.body.loginCode).toMatch(/^\d{6}$/);
    const { client, newKey, requestCredential } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const redirectUri = 'https://wallet.example/callback';
    const authorization = await client.initiateAuthorization({
      clientId: 'citizen-wallet',
      issuerMetadata,
      credentialOffer,
      redirectUri,
      scope: 'driving-licence',
    });
    if (authorization.authorizationFlow !== 'Oauth2Redirect') throw new Error('expected a redirect flow');
    const authorizeUrl = new URL(authorization.authorizationRequestUrl);
    expect(authorizeUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

    // The citizen's browser: the login page, a wrong code, then the right one.
    const page = await fetch(authorizeUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Vehicle Administration 车辆管理所');
    // Opened, the page gives the citizen LOGIN_TTL_SECONDS to sign in, not what is left of the request_uri's 90 s.
    const pushed = await app.app.get(Database).use(undefined, (m) =>
      m.getRepository(AuthorizationSessionEntity).findOneByOrFail({
        requestUriHash: sha256Hex(authorizeUrl.searchParams.get('request_uri')!),
      }),
    );
    expect(pushed.requestExpiresAt.getTime()).toBeGreaterThan(Date.now() + (LOGIN_TTL_SECONDS - 60) * 1000);
    // Opened again, it extends nothing: reloading cannot keep a request_uri alive.
    expect((await fetch(authorizeUrl)).status).toBe(200);
    const reopened = await app.app
      .get(Database)
      .use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).findOneByOrFail({ id: pushed.id }));
    expect(reopened.requestExpiresAt.getTime()).toBe(pushed.requestExpiresAt.getTime());
    const submit = (loginCode: string) => signInAtIssuer(app.url, authorizeUrl, { login_code: loginCode });
    const wrong = await submit(created.body.loginCode === '000000' ? '111111' : '000000');
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('content-type')).toMatch(/^text\/html/);
    // The page again, with the form and an alert for the citizen.
    expect(await wrong.text()).toMatch(/role="alert"[\s\S]*name="login_code"/);
    const login = await submit(created.body.loginCode);
    expect(login.status).toBe(302);
    const callback = new URL(login.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('iss')).toBe(app.url);
    // RFC 9207 §2.3: a server that sends iss says so in its metadata; wallets are public clients (RFC 8414 §2).
    expect((await app.call('GET', '/.well-known/oauth-authorization-server')).body).toMatchObject({
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: ['none'],
    });

    const dpopKey = newKey();
    const { accessTokenResponse, dpop } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata,
      credentialOffer,
      authorizationCode: callback.searchParams.get('code')!,
      pkceCodeVerifier: authorization.pkce?.codeVerifier,
      redirectUri,
      dpop: { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey } },
    });
    // The token names the client it was issued to (RFC 9068), and a key proof's iss must be that client (F.1).
    expect(decodeJwt(accessTokenResponse.access_token).client_id).toBe('citizen-wallet');
    const forAnother = await requestCredential({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: 'driving-licence.sd_jwt',
      dpop,
      clientId: 'another-wallet',
    }).catch(oauthError);
    expect(forAnother).toBe('invalid_proof');
    const { credential } = await requestCredential({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: 'driving-licence.sd_jwt',
      dpop,
      clientId: 'citizen-wallet',
    });
    expect((await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body.verified).toBe(
      true,
    );

    // The authorization code is single-use.
    const reused = await client
      .retrieveAuthorizationCodeAccessTokenFromOffer({
        issuerMetadata,
        credentialOffer,
        authorizationCode: callback.searchParams.get('code')!,
        pkceCodeVerifier: authorization.pkce?.codeVerifier,
        redirectUri,
      })
      .catch(oauthError);
    expect(reused).toBe('invalid_grant');
  });

  it('defers issuance until an officer approves the application', async () => {
    const created = await offer({ requiresApproval: true, txCode: false });
    const { client, sendCredentialRequest } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
    });
    const { credentialResponse, response } = await sendCredentialRequest({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: 'driving-licence.sd_jwt',
    });
    expect(response.status).toBe(202);
    const transactionId = credentialResponse.transaction_id!;
    expect(transactionId).toBeDefined();
    expect(credentialResponse.credentials).toBeUndefined();

    const poll = () =>
      client.retrieveDeferredCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, transactionId });
    // Still waiting: 202 with the same transaction_id and an interval (OID4VCI 1.0 §9.2).
    const waiting = await poll();
    expect(waiting.response.status).toBe(202);
    expect(waiting.deferredCredentialResponse).toEqual({ transaction_id: transactionId, interval: 5 });

    const approved = await app.call('POST', `/agency/offers/${created.body.offerId}/approve`, { token: apiKey });
    expect(approved.body).toEqual({ approved: true });
    // The officer's approval is in the audit trail (same transaction), with the API key's prefix as the actor.
    const entries = (await app.app
      .get(Database)
      .use(undefined, (m) => m.query(`SELECT actor, subject FROM audit_entries WHERE kind = 'offer.approved'`))) as {
      actor: string;
      subject: string;
    }[];
    expect(entries).toContainEqual({ actor: expect.stringMatching(/^api-key:/), subject: `offer:${created.body.offerId}` });
    expect((await app.call('POST', `/agency/offers/${created.body.offerId}/approve`, { token: apiKey })).status).toBe(404);
    const { deferredCredentialResponse } = await poll();
    const credential = (deferredCredentialResponse.credentials![0] as { credential: string }).credential;
    expect((await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body.verified).toBe(
      true,
    );
    // Re-delivery (ADR 18): a repeated poll gets the same credential again, not a second one (the wallet's
    // notification or the grace period ends that; test/oid4vci-refresh.e2e-spec.ts).
    const again = await poll();
    expect((again.deferredCredentialResponse.credentials![0] as { credential: string }).credential).toBe(credential);
  });

  it('answers protocol errors as OAuth JSON', async () => {
    const badGrant = await app.call('POST', '/oid4vci/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=a&password=b',
    });
    expect(badGrant.status).toBe(400);
    expect(badGrant.headers.get('content-type')).toContain('application/json');
    expect(badGrant.body.error).toMatch(/^(unsupported_grant_type|invalid_request)$/);
    const noToken = await app.call('POST', '/oid4vci/credential', {
      body: { credential_configuration_id: 'driving-licence.sd_jwt' },
    });
    expect(noToken.status).toBe(401);
    expect(noToken.body.error).toBeDefined();
    const unknownCode = await app.call('POST', '/oid4vci/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=nope',
    });
    expect({ status: unknownCode.status, error: unknownCode.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    const badOffer = await offer({ claims: { family_name: '' } });
    expect(badOffer.status).toBe(400);
    expect(badOffer.body.violations.length).toBeGreaterThan(3);
  });

  it('issue 12: every OID4VCI route answers OAuth JSON, also for errors raised before its handler; the officer API problem details', async () => {
    const oversize = JSON.stringify({ padding: 'x'.repeat(70_000) });
    const raw = (method: string, path: string, body?: string, contentType = 'application/json') =>
      fetch(app.url + path, { method, body, headers: body === undefined ? {} : { 'content-type': contentType } }).then(
        async (reply) => ({ status: reply.status, type: reply.headers.get('content-type'), body: await reply.json() }),
      );
    const oauth = (status: number, error: string) => ({
      status,
      type: expect.stringMatching(/^application\/json/),
      body: expect.objectContaining({ error }),
    });
    for (const path of ['token', 'par', 'nonce', 'credential', 'deferred', 'notification', 'authorize'].map(
      (p) => `/oid4vci/${p}`,
    )) {
      const badRequest =
        path === '/oid4vci/credential' || path === '/oid4vci/deferred'
          ? 'invalid_credential_request'
          : path === '/oid4vci/notification'
            ? 'invalid_notification_request'
            : 'invalid_request';
      // A payload the route cannot read, whatever the reason, gets the route's own code (§8.3.1.2).
      expect({ path, ...(await raw('POST', path, oversize)) }).toEqual({ path, ...oauth(413, badRequest) });
      expect({ path, ...(await raw('POST', path, '{"a":')) }).toEqual({ path, ...oauth(400, badRequest) });
      expect({ path, ...(await raw('POST', path, 'x', 'text/plain')) }).toEqual({ path, ...oauth(415, badRequest) });
    }
    for (const path of ['/oid4vci/offers/00000000-0000-4000-8000-000000000000', '/.well-known/openid-credential-issuer/x'])
      expect({ path, ...(await raw('GET', path)) }).toEqual({ path, ...oauth(404, 'invalid_request') });
    // A route asked with another method: 405 with Allow, still OAuth JSON.
    expect({ path: '/oid4vci/token', ...(await raw('GET', '/oid4vci/token')) }).toEqual({
      path: '/oid4vci/token',
      ...oauth(405, 'invalid_request'),
    });
    const officer = await fetch(`${app.url}/agency/offers`, {
      method: 'POST',
      body: oversize,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    });
    expect(officer.status).toBe(413);
    expect(officer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await officer.json()) as { code: string }).code).toBe('payload_too_large');
  });
});
