import { jest } from '@jest/globals';
import { createActiveAgency, startTestApp, type TestApp } from './support/test-app.js';
import { clientErrorCode, PRE_AUTHORIZED_GRANT, preAuthorizedCodeOf, wallet, signInAtIssuer } from './support/wallet.js';
import { CHINESE_DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { IssuanceService, IssuedCredentialEntity, OfferRepository } from '../src/issuer/index.js';
import { NotificationRepository } from '../src/issuer/credential-endpoint/notification.repository.js';
import { Database } from '../src/persistence/index.js';

const LICENCE = CHINESE_DRIVING_LICENCE_CLAIMS;
/** A six-digit code that is not `code`. */
const otherPin = (code: string) => (code === '000000' ? '111111' : '000000');

/**
 * OID4VCI single-use values and lockouts: PINs and login codes are counted before they are compared and
 * lock the offer at the fifth wrong one; codes, DPoP proofs and offers are used once and expire.
 */
describe('OpenID4VCI lockouts and single use', () => {
  let app: TestApp;
  let apiKey: string;
  const oauthError = clientErrorCode;

  const offer = (body: Record<string, unknown> = {}) =>
    app.call('POST', '/agency/offers', {
      token: apiKey,
      body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE, ...body },
    });
  /** A raw token request for an offer link's pre-authorized code, with a PIN. */
  const pinAttempt = (link: string, txCode: string) =>
    app.call('POST', '/oid4vci/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: PRE_AUTHORIZED_GRANT,
        'pre-authorized_code': preAuthorizedCodeOf(link),
        tx_code: txCode,
      }).toString(),
    });

  /** The wallet resolves an offer and the issuer's metadata, and redeems the pre-authorized code (with its PIN). */
  const redeemed = async (holder: ReturnType<typeof wallet>, created: { credentialOffer: string; txCode?: string }) => {
    const credentialOffer = await holder.vci.resolveCredentialOffer(created.credentialOffer);
    const issuerMetadata = await holder.vci.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await holder.vci.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      ...(created.txCode ? { txCode: created.txCode } : {}),
    });
    return { credentialOffer, issuerMetadata, accessTokenResponse };
  };

  const issuedCredentials = () => app.app.get(Database).use(undefined, (m) => m.getRepository(IssuedCredentialEntity).count());

  beforeAll(async () => {
    app = await startTestApp({ OID4VCI_WALLET_REDIRECT_URIS: 'https://wallet.example/callback' });
    apiKey = (await createActiveAgency(app, 'dmv-locks', 'Vehicle Administration 车辆管理所', ['driving-licence'])).apiKey;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('locks an offer after 5 wrong PINs', async () => {
    const created = await offer();
    const { client } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const attempt = (txCode: string) => pinAttempt(created.body.credentialOffer, txCode);
    const wrong = otherPin(created.body.txCode);
    for (let i = 1; i <= 5; i++) {
      const response = await attempt(wrong);
      expect({ attempt: i, status: response.status, error: response.body.error }).toEqual({
        attempt: i,
        status: 400,
        error: 'invalid_grant',
      });
    }
    const correct = await attempt(created.body.txCode);
    expect({ status: correct.status, error: correct.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    expect((await app.app.get(OfferRepository).byId(created.body.offerId))?.status).toBe('locked');
    // Also through the client library: a locked offer stays locked.
    expect(
      await client
        .retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode: created.body.txCode })
        .catch(oauthError),
    ).toBe('invalid_grant');
  });

  it('lets the right PIN through after 4 wrong ones (the lock comes with the 5th)', async () => {
    const created = await offer();
    const attempt = (txCode: string) => pinAttempt(created.body.credentialOffer, txCode);
    const wrong = otherPin(created.body.txCode);
    for (let i = 1; i <= 4; i++) expect((await attempt(wrong)).body.error).toBe('invalid_grant');
    const correct = await attempt(created.body.txCode);
    expect(correct.status).toBe(200);
    expect(correct.body.access_token).toEqual(expect.any(String));
  });

  it('counts only wrong PINs: a right one whose redemption fails costs no attempt', async () => {
    const created = await offer();
    const attempt = (txCode: string) => pinAttempt(created.body.credentialOffer, txCode);
    expect((await attempt(otherPin(created.body.txCode))).body.error).toBe('invalid_grant');
    // The right PIN, five times over, each time failing after the comparison (the redemption's write).
    const failing = jest
      .spyOn(app.app.get(OfferRepository), 'redeem')
      .mockRejectedValue(new Error('the database refused the row'));
    try {
      for (let i = 1; i <= 5; i++) expect((await attempt(created.body.txCode)).status).toBe(500);
      expect(failing).toHaveBeenCalledTimes(5);
    } finally {
      failing.mockRestore();
    }
    expect((await app.app.get(OfferRepository).byId(created.body.offerId))?.txCodeFailures).toBe(1);
    const correct = await attempt(created.body.txCode);
    expect(correct.status).toBe(200);
    expect(correct.body.access_token).toEqual(expect.any(String));
  });

  it('counts PIN attempts before comparing, so 20 parallel guesses get 5 tries at most', async () => {
    const created = await offer();
    const guess = (txCode: string) => pinAttempt(created.body.credentialOffer, txCode);
    const wrongGuesses = Array.from({ length: 20 }, (_, i) => String(i).padStart(6, '9')).filter(
      (pin) => pin !== created.body.txCode,
    );
    const answers = await Promise.all(wrongGuesses.map((pin) => guess(pin)));
    expect(answers.every((reply) => reply.status === 400 && reply.body.error === 'invalid_grant')).toBe(true);
    // Every comparison is preceded by a reserved attempt, so the counter is the number of PINs compared.
    const stored = await app.app.get(OfferRepository).byId(created.body.offerId);
    expect({ compared: stored?.txCodeFailures, status: stored?.status }).toEqual({ compared: 5, status: 'locked' });
    const correct = await guess(created.body.txCode);
    expect({ status: correct.status, error: correct.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('accepts a DPoP proof once (RFC 9449 replay protection)', async () => {
    const { newKey, signJwt } = wallet();
    const key = newKey();
    const { jwt: proof } = await signJwt(
      { method: 'jwk', alg: 'ES256', publicJwk: key },
      {
        header: { typ: 'dpop+jwt', alg: 'ES256', jwk: key },
        payload: { htm: 'POST', htu: `${app.url}/oid4vci/token`, iat: Math.floor(Date.now() / 1000), jti: 'replayed-jti-0001' },
      },
    );
    const redeem = async () => {
      const created = await offer({ txCode: false });
      const code = preAuthorizedCodeOf(created.body.credentialOffer);
      return app.call('POST', '/oid4vci/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:pre-authorized_code',
          'pre-authorized_code': code,
        }).toString(),
      });
    };
    const first = await redeem();
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBe('DPoP');
    // The same, still recent proof again: refused for its jti alone.
    const second = await redeem();
    expect({ status: second.status, error: second.body.error }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('spends no offer on a credential that was not issued: the same request again gets it', async () => {
    // The configuration's single use commits with the credentials it yields and everything recorded with
    // them: a failure before that commit (here the issuance itself, then storing the notification id) leaves
    // the offer as it was, where it used to be spent ("already issued") for nothing.
    const holder = wallet();
    const created = await offer();
    expect(created.status).toBe(201);
    const { credentialOffer, issuerMetadata, accessTokenResponse } = await redeemed(holder, created.body);
    const request = {
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: credentialOffer.credential_configuration_ids[0]!,
    };
    const credentialsBefore = await issuedCredentials();
    const failOnce = [
      () => jest.spyOn(app.app.get(IssuanceService), 'issueAll').mockRejectedValueOnce(new Error('no signing key')),
      () => jest.spyOn(app.app.get(NotificationRepository), 'insert').mockRejectedValueOnce(new Error('no row')),
    ];
    for (const fail of failOnce) {
      const failing = fail();
      try {
        const refused = await holder.sendCredentialRequest(request).then(
          (result) => result.response.status,
          () => 'failed',
        );
        expect(refused).not.toBe(200);
        expect(failing).toHaveBeenCalledTimes(1);
      } finally {
        failing.mockRestore();
      }
      expect(await issuedCredentials()).toBe(credentialsBefore);
    }
    const { credential } = await holder.requestCredential(request);
    expect(credential.split('~')[0]!.split('.')).toHaveLength(3);
    const stored = await app.app.get(OfferRepository).byId(created.body.offerId);
    expect(stored).toMatchObject({ status: 'issued', claimsSealed: null });
    expect(await issuedCredentials()).toBe(credentialsBefore + 1);
  });

  it('issues each configuration of an offer to parallel credential requests, and the last one finishes the offer', async () => {
    // OID4VCI 1.0 §8: a wallet may ask for an offer's configurations with one access token, at once. A request for
    // one configuration must not be refused because a request for another was committed in between.
    for (let round = 0; round < 3; round++) {
      const holder = wallet();
      const created = await offer({ formats: ['dc+sd-jwt', 'jwt_vc_json'] });
      const { credentialOffer, issuerMetadata, accessTokenResponse } = await redeemed(holder, created.body);
      const configurations = credentialOffer.credential_configuration_ids;
      expect(configurations).toHaveLength(2);
      const answers = await Promise.all(
        configurations.map((configurationId) =>
          holder.sendCredentialRequest({ issuerMetadata, accessToken: accessTokenResponse.access_token, configurationId }),
        ),
      );
      expect(answers.map((answer) => answer.response.status)).toEqual([200, 200]);
      const stored = await app.app.get(OfferRepository).byId(created.body.offerId);
      expect(stored).toMatchObject({ status: 'issued', claimsSealed: null });
      expect([...stored!.issuedConfigurations].sort()).toEqual([...configurations].sort());
    }
  });

  it('erases a redeemed offer’s claims once no token can reach it: its expiry plus the longest access-token life', async () => {
    const holder = wallet();
    const created = await offer({ formats: ['dc+sd-jwt', 'jwt_vc_json'] });
    const { issuerMetadata, accessTokenResponse } = await redeemed(holder, created.body);
    // One configuration of two fetched: the offer stays redeemed, its claims kept for the other.
    const answer = await holder.sendCredentialRequest({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: 'driving-licence.sd_jwt',
    });
    expect(answer.response.status).toBe(200);
    const offers = app.app.get(OfferRepository);
    const stored = (await offers.byId(created.body.offerId))!;
    expect(stored.status).toBe('redeemed');
    expect(stored.claimsSealed).not.toBeNull();
    const expiry = stored.expiresAt.getTime();
    // Within an access token's life after the expiry (a token taken just before it still works): kept.
    await offers.purgeExpiredSealedState(new Date(expiry + 3_599_000));
    expect((await offers.byId(created.body.offerId))!.claimsSealed).not.toBeNull();
    await offers.purgeExpiredSealedState(new Date(expiry + 3_601_000));
    expect(await offers.byId(created.body.offerId)).toMatchObject({ status: 'redeemed', claimsSealed: null, offerSealed: null });
  });

  it('refuses an expired offer', async () => {
    const created = await offer({ expiresInSeconds: 1, txCode: false });
    const { client } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(
      await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata }).catch(oauthError),
    ).toBe('invalid_grant');
  });

  it('lets exactly one of 100 parallel redemptions of one code succeed', async () => {
    const created = await offer();
    const { client } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        client
          .retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode: created.body.txCode })
          .then(() => 'ok')
          .catch(oauthError),
      ),
    );
    expect(results.filter((result) => result === 'ok')).toHaveLength(1);
    expect(results.filter((result) => result === 'invalid_grant')).toHaveLength(99);
    // Right PINs that lose the race are told the code was used, never that a PIN was wrong or the offer locked.
    const raced = await offer();
    const replies = await Promise.all(
      Array.from({ length: 24 }, () => pinAttempt(raced.body.credentialOffer, raced.body.txCode)),
    );
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    const descriptions = new Set(replies.filter((reply) => reply.status !== 200).map((reply) => reply.body.error_description));
    for (const description of descriptions)
      expect(['The pre-authorized code was already used', 'Too many PIN attempts at once; try again in a moment']).toContain(
        description,
      );
  });

  it('sends the wallet back with access_denied after 5 wrong login codes, and keeps the offer locked', async () => {
    const created = await offer({ flow: 'authorization_code' });
    const { client } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const authorization = await client.initiateAuthorization({
      clientId: 'citizen-wallet',
      issuerMetadata,
      credentialOffer,
      redirectUri: 'https://wallet.example/callback',
      scope: 'driving-licence',
    });
    if (authorization.authorizationFlow !== 'Oauth2Redirect') throw new Error('expected a redirect flow');
    const authorizeUrl = new URL(authorization.authorizationRequestUrl);
    const submit = (loginCode: string) => signInAtIssuer(app.url, authorizeUrl, { login_code: loginCode });
    const wrong = otherPin(created.body.loginCode);
    for (let i = 1; i <= 4; i++) expect((await submit(wrong)).status).toBe(400);
    for (const loginCode of [wrong, created.body.loginCode]) {
      const denied = await submit(loginCode);
      expect(denied.status).toBe(302);
      const callback = new URL(denied.headers.get('location')!);
      expect(callback.origin + callback.pathname).toBe('https://wallet.example/callback');
      expect({ error: callback.searchParams.get('error'), code: callback.searchParams.get('code') }).toEqual({
        error: 'access_denied',
        code: null,
      });
    }
    expect((await app.app.get(OfferRepository).byId(created.body.offerId))?.status).toBe('locked');
  });
});
