import { jest } from '@jest/globals';
import { sha256Hex } from '../src/common/index.js';
import { resourceRequest, type Jwk, type RequestDpopOptions } from '@openid4vc/oauth2';
import type { IssuerMetadataResult } from '@openid4vc/openid4vci';
import { decodeJwt } from 'jose';
import { Oid4vciRefreshTokenEntity } from '../src/issuer/authorization-server/refresh-token.entity.js';
import { RefreshTokenRepository } from '../src/issuer/authorization-server/refresh-token.repository.js';
import { AccessTokenVerifier } from '../src/issuer/credential-endpoint/access-token.verifier.js';
import { DeferredRequestRepository } from '../src/issuer/credential-endpoint/deferred.repository.js';
import { NotificationRepository } from '../src/issuer/credential-endpoint/notification.repository.js';
import { IssuedCredentialEntity, OfferRepository } from '../src/issuer/index.js';
import { ApprovalService } from '../src/issuer/approvals/approval.service.js';
import { Database } from '../src/persistence/index.js';
import { holdNextCall } from './support/hold.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { clientErrorCode, wallet, signInAtIssuer } from './support/wallet.js';
import { CHINESE_DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const CONFIGURATION = 'driving-licence.sd_jwt';
/**
 * Short-lived access tokens, so that the test can move the resource server's clock past one's expiry and the
 * wallet's DPoP proofs are still fresh then (HOLDER_PROOF_MAX_AGE_SECONDS, 60); long enough for a loaded
 * machine to use each token for the few requests it is meant for.
 */
const ACCESS_TOKEN_TTL_SECONDS = 30;
const REDIRECT_URI = 'https://wallet.example/callback';

/**
 * ADR 18: the refresh_token grant for deferred offers (rotation, reuse revokes the family, DPoP binding,
 * no scope widening) and re-delivery of a deferred credential until the wallet's notification. The wallet
 * is the @openid4vc clients: Openid4vciClient for the offer, token and credential request, Oauth2Client for
 * the refresh, and the library's resourceRequest (DPoP and all) for the deferred endpoint, because this app
 * sends notification_id in deferred responses (OID4VCI_DEFERRED_NOTIFICATION_ID), which the 0.4.6
 * Openid4vciClient refuses.
 */
describe('OID4VCI refresh tokens and re-delivery of deferred credentials', () => {
  let app: TestApp;
  let apiKey: string;

  const offer = (body: Record<string, unknown> = {}) =>
    app.call('POST', '/agency/offers', {
      token: apiKey,
      body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: CHINESE_DRIVING_LICENCE_CLAIMS, txCode: false, ...body },
    });

  /** A citizen's wallet: the @openid4vc clients with one set of keys. */
  function holder() {
    const held = wallet();
    const { oauth2, clientCallbacks: callbacks } = held;
    const dpopOf = (key: Jwk | undefined): RequestDpopOptions | undefined =>
      key ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: key } } : undefined;

    /** Takes an offer (DPoP-bound with `dpopKey`) and sends the credential request; returns the tokens and the 202's transaction_id. */
    async function apply(link: string, dpopKey?: Jwk) {
      const credentialOffer = await held.client.resolveCredentialOffer(link);
      const issuerMetadata = await held.client.resolveIssuerMetadata(credentialOffer.credential_issuer);
      const { accessTokenResponse } = await held.client.retrievePreAuthorizedCodeAccessTokenFromOffer({
        credentialOffer,
        issuerMetadata,
        ...(dpopKey ? { dpop: dpopOf(dpopKey) } : {}),
      });
      return { issuerMetadata, tokens: accessTokenResponse };
    }

    async function requestDeferred(issuerMetadata: IssuerMetadataResult, accessToken: string, dpopKey?: Jwk) {
      const requested = await held.sendCredentialRequest({
        issuerMetadata,
        accessToken,
        configurationId: CONFIGURATION,
        ...(dpopKey ? { dpop: dpopOf(dpopKey) } : {}),
      });
      expect(requested.response.status).toBe(202);
      return requested.credentialResponse.transaction_id!;
    }

    /** RFC 6749 §6 through the library's client. */
    const refresh = (issuerMetadata: IssuerMetadataResult, refreshToken: string, dpopKey?: Jwk, scope?: string) =>
      oauth2.retrieveRefreshTokenAccessToken({
        authorizationServerMetadata: issuerMetadata.authorizationServers[0]!,
        refreshToken,
        ...(dpopKey ? { dpop: dpopOf(dpopKey) } : {}),
        ...(scope !== undefined ? { additionalRequestPayload: { scope } } : {}),
      });

    /** The deferred credential request (OID4VCI 1.0 §9.1) through the library's resourceRequest: status and JSON body. */
    async function poll(issuerMetadata: IssuerMetadataResult, accessToken: string, transactionId: string, dpopKey?: Jwk) {
      const result = await resourceRequest({
        callbacks,
        accessToken,
        url: issuerMetadata.credentialIssuer.deferred_credential_endpoint!,
        ...(dpopKey ? { dpop: dpopOf(dpopKey) } : {}),
        requestOptions: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ transaction_id: transactionId }),
        },
      });
      return { status: result.response.status, body: (await result.response.json()) as Record<string, unknown> };
    }
    return { ...held, apply, requestDeferred, refresh, poll, dpopOf };
  }

  beforeAll(async () => {
    app = await startTestApp({
      OID4VCI_ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS),
      OID4VCI_DEFERRED_NOTIFICATION_ID: 'true',
      OID4VCI_WALLET_REDIRECT_URIS: REDIRECT_URI,
    });
    apiKey = (await createActiveAgency(app, 'dmv', 'Vehicle Administration', ['driving-licence'])).apiKey;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('advertises the grant, and gives refresh tokens only to offers whose issuance can be deferred', async () => {
    const metadata = await app.call('GET', '/.well-known/oauth-authorization-server');
    expect(metadata.body.grant_types_supported).toEqual(expect.arrayContaining(['refresh_token']));

    const wallet = holder();
    const immediate = await wallet.apply((await offer()).body.credentialOffer);
    expect(immediate.tokens.refresh_token).toBeUndefined();
    // A token that came without a refresh token: presenting the access token (or anything) is invalid_grant.
    const refused = await wallet
      .refresh(immediate.issuerMetadata, immediate.tokens.access_token)
      .catch((error: unknown) => clientErrorCode(error));
    expect(refused).toBe('invalid_grant');

    const deferred = await wallet.apply((await offer({ requiresApproval: true })).body.credentialOffer);
    expect(deferred.tokens.refresh_token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/));
  });

  it('refreshes a DPoP-bound grant after the access token expired; rotation; reuse kills the family', async () => {
    const created = await offer({ requiresApproval: true });
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer, dpopKey);
    expect(tokens.token_type).toBe('DPoP');
    const transactionId = await wallet.requestDeferred(issuerMetadata, tokens.access_token, dpopKey);
    expect((await app.call('POST', `/agency/offers/${created.body.offerId}/approve`, { token: apiKey })).body).toEqual({
      approved: true,
    });

    // The access token expires (the app's short lifetime): with the resource server's clock a second past its
    // `exp`, the deferred endpoint refuses it (the wallet's DPoP proof, made now, is still fresh then).
    const { exp } = decodeJwt(tokens.access_token);
    expect(exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + ACCESS_TOKEN_TTL_SECONDS);
    const clock = jest.spyOn(AccessTokenVerifier.prototype, 'now').mockImplementation(() => new Date((exp! + 1) * 1000));
    let expired;
    try {
      expired = await wallet.poll(issuerMetadata, tokens.access_token, transactionId, dpopKey);
    } finally {
      clock.mockRestore();
    }
    expect(expired.status).toBe(401);
    expect(expired.body.error).toBe('invalid_token');

    // Refresh with the same DPoP key: a new access token for the same grant, and a new refresh token.
    const first = await wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey);
    const renewed = first.accessTokenResponse;
    expect(renewed.token_type).toBe('DPoP');
    expect(renewed.refresh_token).toBeDefined();
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    const before = decodeJwt(tokens.access_token);
    const after = decodeJwt(renewed.access_token);
    expect(after.sub).toBe(before.sub);
    expect(after['cnf']).toEqual(before['cnf']);
    expect(after['authorization_details']).toEqual(before['authorization_details']);

    // The new token polls the deferred endpoint and gets the credential the officer approved.
    const issued = await wallet.poll(issuerMetadata, renewed.access_token, transactionId, dpopKey);
    expect(issued.status).toBe(200);
    expect(issued.body.credentials).toHaveLength(1);

    // Rotation: the next refresh works with the newest token...
    const second = await wallet.refresh(issuerMetadata, renewed.refresh_token!, dpopKey);
    // ...the first (rotated) one presented again is reuse: invalid_grant, and the whole family is revoked.
    const reused = await wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey).catch(clientErrorCode);
    expect(reused).toBe('invalid_grant');
    const newest = await wallet
      .refresh(issuerMetadata, second.accessTokenResponse.refresh_token!, dpopKey)
      .catch(clientErrorCode);
    expect(newest).toBe('invalid_grant');
  });

  it('refuses another DPoP key, a missing proof and a wider scope, without spending the refresh token', async () => {
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const { issuerMetadata, tokens } = await wallet.apply(
      (await offer({ requiresApproval: true })).body.credentialOffer,
      dpopKey,
    );
    const refreshToken = tokens.refresh_token!;

    const otherKey = await wallet.refresh(issuerMetadata, refreshToken, wallet.newKey()).catch(clientErrorCode);
    expect(otherKey).toBe('invalid_grant');
    const noProof = await wallet.refresh(issuerMetadata, refreshToken).catch(clientErrorCode);
    expect(noProof).toBe('invalid_dpop_proof');
    const wider = await wallet
      .refresh(issuerMetadata, refreshToken, dpopKey, 'driving-licence marriage-certificate')
      .catch(clientErrorCode);
    expect(wider).toBe('invalid_scope');

    // None of these spent it: the original scope (or less) is granted, and named in the response.
    const { accessTokenResponse } = await wallet.refresh(issuerMetadata, refreshToken, dpopKey, 'driving-licence');
    expect(accessTokenResponse.scope).toBe('driving-licence');
    expect(accessTokenResponse.token_type).toBe('DPoP');
  });

  it('keeps the authorization_details (credential identifiers) of an authorization code grant', async () => {
    const created = await offer({ flow: 'authorization_code', requiresApproval: true });
    const wallet = holder();
    const credentialOffer = await wallet.client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await wallet.client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const authorization = await wallet.client.initiateAuthorization({
      clientId: 'citizen-wallet',
      issuerMetadata,
      credentialOffer,
      redirectUri: REDIRECT_URI,
      additionalRequestPayload: {
        authorization_details: [{ type: 'openid_credential', credential_configuration_id: CONFIGURATION }],
      },
    });
    if (authorization.authorizationFlow !== 'Oauth2Redirect') throw new Error('expected a redirect flow');
    const authorizeUrl = new URL(authorization.authorizationRequestUrl);
    const login = await signInAtIssuer(app.url, authorizeUrl, { login_code: created.body.loginCode });
    expect(login.status).toBe(302);
    const { accessTokenResponse: tokens } = await wallet.client.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata,
      credentialOffer,
      authorizationCode: new URL(login.headers.get('location')!).searchParams.get('code')!,
      pkceCodeVerifier: authorization.pkce?.codeVerifier,
      redirectUri: REDIRECT_URI,
    });
    const granted = [
      { type: 'openid_credential', credential_configuration_id: CONFIGURATION, credential_identifiers: [CONFIGURATION] },
    ];
    expect(tokens.authorization_details).toEqual(granted);
    expect(tokens.refresh_token).toBeDefined();

    const { accessTokenResponse: renewed } = await wallet.refresh(issuerMetadata, tokens.refresh_token!);
    expect(renewed.authorization_details).toEqual(granted);
    expect(decodeJwt(renewed.access_token)['authorization_details']).toEqual(granted);
    expect(decodeJwt(renewed.access_token).sub).toBe(decodeJwt(tokens.access_token).sub);
    // The grant's client stays with it (RFC 9068 client_id), and another client cannot refresh it (RFC 6749 §6);
    // the refusal spends nothing.
    expect(decodeJwt(tokens.access_token).client_id).toBe('citizen-wallet');
    expect(decodeJwt(renewed.access_token).client_id).toBe('citizen-wallet');
    const byAnother = await app.call('POST', '/oid4vci/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${renewed.refresh_token!}&client_id=another-wallet`,
    });
    expect(byAnother.status).toBe(400);
    expect(byAnother.body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'The refresh token was issued to another client',
    });
    // Nor one that does not name itself (client_id is required of a grant made to a named client).
    const unnamed = await app.call('POST', '/oid4vci/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${renewed.refresh_token!}`,
    });
    expect(unnamed.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('client_id') });
    // The identifier's configuration has scope driving-licence: nothing else can be asked for.
    expect(
      await wallet.refresh(issuerMetadata, renewed.refresh_token!, undefined, 'driving-licence.jwt_vc').catch(clientErrorCode),
    ).toBe('invalid_scope');
    // None of these refusals spent the token: its own client refreshes with it, and it is then rotated.
    const { accessTokenResponse: again } = await wallet.refresh(issuerMetadata, renewed.refresh_token!);
    expect(decodeJwt(again.access_token).client_id).toBe('citizen-wallet');
    expect(again.refresh_token).not.toBe(renewed.refresh_token);
  });

  it('never leaves two live refresh tokens after concurrent refreshes with one token (Bearer family)', async () => {
    const wallet = holder();
    const created = await offer({ requiresApproval: true });
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer);
    expect(tokens.token_type).toBe('Bearer');
    // A Bearer grant stays Bearer: a DPoP proof cannot bind its tokens afterwards.
    expect(await wallet.refresh(issuerMetadata, tokens.refresh_token!, wallet.newKey()).catch(clientErrorCode)).toBe(
      'invalid_dpop_proof',
    );

    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        wallet.refresh(issuerMetadata, tokens.refresh_token!).then(
          (result) => result.accessTokenResponse,
          (error: unknown) => clientErrorCode(error),
        ),
      ),
    );
    // One rotates; a request that comes after it counts as a retry of a lost response (its unused successor
    // is replaced), one that comes before its successor is stored is refused, one that finds it used counts as
    // reuse (the family ends, successors stored later included). Whatever the interleaving, every refusal is
    // invalid_grant and at most one token of the family is live.
    for (const answer of answers) if (typeof answer === 'string') expect(answer).toBe('invalid_grant');
    expect(await liveTokens(created.body.offerId as string)).toBeLessThanOrEqual(1);
  });

  const issuedCredentials = () => app.app.get(Database).use(undefined, (m) => m.getRepository(IssuedCredentialEntity).count());

  /** Active rows of the offer's family, none once any member is revoked (the family is dead as a whole). */
  async function liveTokens(offerId: string): Promise<number> {
    const family = await app.app
      .get(Database)
      .use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).findBy({ offerId }));
    return family.some((row) => row.status === 'revoked') ? 0 : family.filter((row) => row.status === 'active').length;
  }

  /** Holds the next refresh-token insert (a rotation's successor, inside its transaction) until `release`; `reached` once it is there. */
  function holdNextSuccessor() {
    const repository = app.app.get(RefreshTokenRepository);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let storing!: () => void;
    const reached = new Promise<void>((resolve) => (storing = resolve));
    const insert = repository.insert.bind(repository);
    // With the rotation's transaction: the successor goes into it.
    const spy = jest.spyOn(repository, 'insert').mockImplementationOnce(async (row, tx) => {
      storing();
      await gate;
      return insert(row, tx);
    });
    return {
      reached,
      release,
      restore: () => {
        release();
        spy.mockRestore();
      },
    };
  }

  const refreshTokenOrError = (pending: Promise<{ accessTokenResponse: { refresh_token?: string } }>) =>
    pending.then(
      (result) => result.accessTokenResponse.refresh_token!,
      (error: unknown) => clientErrorCode(error),
    );

  /** The answer's token is the family's live one (active, and no member revoked). */
  const isLive = async (answer: string) =>
    answer !== 'invalid_grant' && (await app.app.get(RefreshTokenRepository).byHash(sha256Hex(answer)))?.status === 'active';
  /** Time for a request started meanwhile to reach the database (and wait there for the held rotation). */
  const reachDatabase = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('leaves no live successor when the token before is reused while a rotation is being stored', async () => {
    const wallet = holder();
    const created = await offer({ requiresApproval: true });
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer);
    const second = (await wallet.refresh(issuerMetadata, tokens.refresh_token!)).accessTokenResponse.refresh_token!;
    // The refresh with the second token is held inside its rotation's transaction, before its successor is stored.
    const held = holdNextSuccessor();
    try {
      const third = refreshTokenOrError(wallet.refresh(issuerMetadata, second));
      await held.reached;
      // Meanwhile the first token again: its successor (the second) is used, so this is reuse and the family ends
      // (once the rotation is in: the rotation and its successor are one transaction, so the reuse waits for it).
      const reused = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!));
      await reachDatabase();
      held.release();
      expect(await reused).toBe('invalid_grant');
      // Whatever the held refresh answered, nothing of the family lives.
      expect(await isLive(await third)).toBe(false);
      expect(await liveTokens(created.body.offerId as string)).toBe(0);
    } finally {
      held.restore();
    }
  });

  it('spends no code on tokens that were not stored: the same token request again gets them', async () => {
    const wallet = holder();
    const created = await offer({ requiresApproval: true });
    // The refresh token's family cannot be stored: the code's redemption rolls back with it.
    const failing = jest
      .spyOn(app.app.get(RefreshTokenRepository), 'insert')
      .mockRejectedValueOnce(new Error('the database refused the row'));
    try {
      await expect(wallet.apply(created.body.credentialOffer)).rejects.toThrow();
      expect(failing).toHaveBeenCalledTimes(1);
    } finally {
      failing.mockRestore();
    }
    const { tokens } = await wallet.apply(created.body.credentialOffer);
    expect(tokens.access_token).toBeDefined();
    expect(tokens.refresh_token).toBeDefined();
    expect(await liveTokens(created.body.offerId as string)).toBe(1);
  });

  it('keeps a DPoP-bound grant with exactly one live token when a duplicate arrives while a rotation is being stored', async () => {
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const created = await offer({ requiresApproval: true });
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer, dpopKey);
    const held = holdNextSuccessor();
    try {
      const first = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey));
      await held.reached;
      // Both hold the family's key: the wallet's own duplicate. It waits for the rotation's transaction, then is
      // refused as concurrent (PostgreSQL: it read the token before the commit) or taken as a retry of a lost
      // response that replaces the first's unused successor (SQLite: it reads after the commit).
      const duplicate = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey));
      await reachDatabase();
      held.release();
      const answers = [await first, await duplicate];
      const live: string[] = [];
      for (const answer of answers) if (await isLive(answer)) live.push(answer);
      expect(live).toHaveLength(1);
      expect(await liveTokens(created.body.offerId as string)).toBe(1);
      expect((await wallet.refresh(issuerMetadata, live[0]!, dpopKey)).accessTokenResponse.access_token).toBeDefined();
    } finally {
      held.restore();
    }
  });

  it('refuses, without ending a DPoP-bound grant, the duplicate that loses the rotation race after the winner finished', async () => {
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const created = await offer({ requiresApproval: true });
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer, dpopKey);
    // The first request has read the token as active and is about to rotate it; its duplicate rotates first, whole.
    const held = holdNextCall(app.app.get(RefreshTokenRepository), 'rotate');
    try {
      const first = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey));
      await held.reached;
      const winner = (await wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey)).accessTokenResponse.refresh_token!;
      held.release();
      expect(await first).toBe('invalid_grant');
      expect(await liveTokens(created.body.offerId as string)).toBe(1);
      expect((await wallet.refresh(issuerMetadata, winner, dpopKey)).accessTokenResponse.access_token).toBeDefined();
    } finally {
      held.release();
      held.spy.mockRestore();
    }
  });

  it('never leaves two live tokens when a Bearer token is presented again while its rotation is being stored', async () => {
    const wallet = holder();
    const created = await offer({ requiresApproval: true });
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer);
    const held = holdNextSuccessor();
    try {
      const first = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!));
      await held.reached;
      // A Bearer token cannot tell the wallet's duplicate from a thief racing it: read before the rotation
      // committed (PostgreSQL) it is reuse and the family ends; read after (SQLite) it is a retry within the grace
      // that replaces the first's unused successor. Either way one live token at most, and it is the duplicate's.
      const duplicate = refreshTokenOrError(wallet.refresh(issuerMetadata, tokens.refresh_token!));
      await reachDatabase();
      held.release();
      const [firstAnswer, duplicateAnswer] = [await first, await duplicate];
      expect(await isLive(firstAnswer)).toBe(false);
      const live = await liveTokens(created.body.offerId as string);
      expect(live).toBe(app.dbKind === 'postgres' ? 0 : 1);
      expect(await isLive(duplicateAnswer)).toBe(live === 1);
    } finally {
      held.restore();
    }
  });

  it('lets a wallet that lost a refresh response retry with the same token; the lost token is then dead', async () => {
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const { issuerMetadata, tokens } = await wallet.apply(
      (await offer({ requiresApproval: true })).body.credentialOffer,
      dpopKey,
    );
    const lost = (await wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey)).accessTokenResponse;
    // The response never reached the wallet: it retries with the token it has, and gets a working grant.
    const retried = (await wallet.refresh(issuerMetadata, tokens.refresh_token!, dpopKey)).accessTokenResponse;
    expect(retried.refresh_token).not.toBe(lost.refresh_token);
    const next = (await wallet.refresh(issuerMetadata, retried.refresh_token!, dpopKey)).accessTokenResponse;
    expect(next.access_token).toBeDefined();
    // Another key cannot use the retry path either.
    expect(await wallet.refresh(issuerMetadata, tokens.refresh_token!, wallet.newKey()).catch(clientErrorCode)).toBe(
      'invalid_grant',
    );
    // The replaced token presented later is reuse: invalid_grant, and the whole family ends.
    expect(await wallet.refresh(issuerMetadata, lost.refresh_token!, dpopKey).catch(clientErrorCode)).toBe('invalid_grant');
    expect(await wallet.refresh(issuerMetadata, next.refresh_token!, dpopKey).catch(clientErrorCode)).toBe('invalid_grant');
  });

  it('answers malformed refresh requests with RFC 6749 error JSON, never a 500', async () => {
    const form = (body: string) =>
      app.call('POST', '/oid4vci/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const missing = await form('grant_type=refresh_token');
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toContain('application/json');
    expect(missing.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    const unknown = await form(`grant_type=refresh_token&refresh_token=${'x'.repeat(43)}`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    const json = await app.call('POST', '/oid4vci/token', { body: { grant_type: 'refresh_token', refresh_token: 42 } });
    expect(json.status).toBe(400);
    expect(json.body.error).toMatch(/^invalid_(request|grant)$/);
  });

  it("keeps the offer's claims while a deferred request of it still waits, whatever finished the others", async () => {
    // One configuration deferred while the application waited, the other asked for directly after the approval.
    const created = await offer({ requiresApproval: true, formats: ['dc+sd-jwt', 'jwt_vc_json'] });
    const wallet = holder();
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer);
    const transactionId = await wallet.requestDeferred(issuerMetadata, tokens.access_token);
    expect((await app.call('POST', `/agency/offers/${created.body.offerId}/approve`, { token: apiKey })).status).toBe(200);
    const direct = await wallet.sendCredentialRequest({
      issuerMetadata,
      accessToken: tokens.access_token,
      configurationId: 'driving-licence.jwt_vc',
    });
    expect(direct.response.status).toBe(200);
    const offers = app.app.get(OfferRepository);
    expect((await offers.byId(created.body.offerId))?.claimsSealed).not.toBeNull();
    const polled = await wallet.poll(issuerMetadata, tokens.access_token, transactionId);
    expect(polled.status).toBe(200);
    expect(polled.body['credentials']).toHaveLength(1);
    // The last waiting request issued: now the claims go.
    expect((await offers.byId(created.body.offerId))?.claimsSealed).toBeNull();
  });

  it('re-delivers an issued deferred credential to the same holder until the wallet notifies', async () => {
    const created = await offer({ requiresApproval: true });
    const wallet = holder();
    const dpopKey = wallet.newKey();
    const { issuerMetadata, tokens } = await wallet.apply(created.body.credentialOffer, dpopKey);
    // The 202 is built before the configuration is spent: a failure building it (here reading the application
    // behind the offer) leaves the request to be made again, never a transaction_id the wallet did not get.
    const reading = jest.spyOn(app.app.get(ApprovalService), 'applicantLink').mockRejectedValueOnce(new Error('no database'));
    try {
      const failed = await wallet
        .sendCredentialRequest({
          issuerMetadata,
          accessToken: tokens.access_token,
          configurationId: CONFIGURATION,
          dpop: wallet.dpopOf(dpopKey),
        })
        .then(
          (result) => result.response.status,
          () => 'failed',
        );
      expect(failed).not.toBe(202);
      expect(reading).toHaveBeenCalledTimes(1);
    } finally {
      reading.mockRestore();
    }
    const transactionId = await wallet.requestDeferred(issuerMetadata, tokens.access_token, dpopKey);
    await app.call('POST', `/agency/offers/${created.body.offerId}/approve`, { token: apiKey });
    // A fresh access token for each step (the tokens are short-lived here), through rotating refreshes.
    let refreshToken = tokens.refresh_token!;
    const fresh = async () => {
      const { accessTokenResponse } = await wallet.refresh(issuerMetadata, refreshToken, dpopKey);
      refreshToken = accessTokenResponse.refresh_token!;
      return accessTokenResponse.access_token;
    };

    // A failure after the credential was signed (here storing its notification id) leaves nothing behind: the
    // request stays pending and the next poll issues it (it used to be spent, with nothing to re-deliver).
    const credentialsBefore = await issuedCredentials();
    const failing = jest
      .spyOn(app.app.get(NotificationRepository), 'insert')
      .mockRejectedValueOnce(new Error('the database refused the row'));
    try {
      const failed = await wallet.poll(issuerMetadata, await fresh(), transactionId, dpopKey);
      expect(failed.status).toBe(500);
      expect(failing).toHaveBeenCalledTimes(1);
    } finally {
      failing.mockRestore();
    }
    expect(await issuedCredentials()).toBe(credentialsBefore);

    const first = await wallet.poll(issuerMetadata, await fresh(), transactionId, dpopKey);
    expect(first.status).toBe(200);
    expect(await issuedCredentials()).toBe(credentialsBefore + 1);
    expect(first.body).toEqual({
      credentials: [{ credential: expect.any(String) }],
      notification_id: expect.any(String),
    });
    // The response was lost, say: the same poll again gets the SAME credential, not a second one. It is handed
    // out only once everything committed is on stable storage (its group's WAL flush may still be running):
    // with that wait held, the poll gets no answer; released, it gets the copy.
    const accessToken = await fresh();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let waits = 0;
    const durable = jest.spyOn(app.app.get(Database), 'durable').mockImplementation(() => {
      waits++;
      return held;
    });
    let answered = false;
    const polled = wallet.poll(issuerMetadata, accessToken, transactionId, dpopKey).finally(() => (answered = true));
    try {
      await eventually(async () => (waits > 0 ? true : undefined), 20_000, 5);
      // Two more round trips through the service: an answer not waiting for the flush would have come by now.
      for (let trip = 0; trip < 2; trip++)
        expect((await app.call('GET', '/.well-known/openid-credential-issuer')).status).toBe(200);
      expect(answered).toBe(false);
    } finally {
      durable.mockRestore();
      release();
    }
    const again = await polled;
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    // Another holder (its own offer and DPoP key) cannot fetch it with the transaction_id.
    const thief = holder();
    const thiefKey = thief.newKey();
    const stolen = await thief.apply((await offer({ requiresApproval: true })).body.credentialOffer, thiefKey);
    const refused = await thief.poll(stolen.issuerMetadata, stolen.tokens.access_token, transactionId, thiefKey);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_transaction_id');

    // Issued: the request no longer holds the wallet's keys, only the DPoP key's thumbprint while a copy is kept.
    const deferredRow = () =>
      app.app
        .get(Database)
        .use(undefined, (m) =>
          m.query(`SELECT holder_keys, holder_jkt FROM deferred_requests WHERE offer_id = '${created.body.offerId}'`),
        )
        .then((rows: { holder_keys: string; holder_jkt: string | null }[]) => rows[0]!);
    expect(JSON.parse((await deferredRow()).holder_keys)).toEqual([]);
    expect((await deferredRow()).holder_jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The report and the end of re-delivery commit together: a failure in between leaves neither.
    let refreshed = await fresh();
    const notify = () =>
      wallet.client.sendNotification({
        issuerMetadata,
        accessToken: refreshed,
        dpop: wallet.dpopOf(dpopKey),
        notification: { notificationId: first.body.notification_id as string, event: 'credential_accepted' },
      });
    const ending = jest
      .spyOn(app.app.get(DeferredRequestRepository), 'endRedelivery')
      .mockRejectedValueOnce(new Error('the database refused the row'));
    try {
      await expect(notify()).rejects.toThrow();
      expect(ending).toHaveBeenCalledTimes(1);
    } finally {
      ending.mockRestore();
    }
    expect((await app.app.get(NotificationRepository).byId(first.body.notification_id as string))?.reportedAt).toBeNull();
    expect((await wallet.poll(issuerMetadata, await fresh(), transactionId, dpopKey)).body).toEqual(first.body);

    // The wallet accepts the credential: the sealed copy is dropped, the transaction is over.
    refreshed = await fresh();
    await notify();
    expect((await app.app.get(NotificationRepository).byId(first.body.notification_id as string))?.reportedAt).not.toBeNull();
    const after = await wallet.poll(issuerMetadata, await fresh(), transactionId, dpopKey);
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_transaction_id');
    expect((await deferredRow()).holder_jkt).toBeNull();
  });
});
