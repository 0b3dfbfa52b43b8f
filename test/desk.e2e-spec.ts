import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import type { Jwk } from '@openid4vc/oauth2';
import { createActiveAgency, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The relying party's desk page in headless Chromium: it shows the QR code, then the verdict. */
describe('verifier desk page', () => {
  let app: TestApp;
  let browser: Browser;
  const citizen = wallet();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    app = await startTestApp();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the QR code, then the verdict with only the requested claims', async () => {
    const { apiKey } = await createActiveAgency(app, 'desk-agency', 'Desk test agency', ['driving-licence']);
    const registered = await app.operator('POST', '/operator/relying-parties', {
      name: 'City Car Rental 城市租车',
      purpose: 'Check the renter may drive a car',
      allowedClaims: { 'driving-licence': ['categories', 'expiry_date'] },
    });
    const rpKey = registered.body.apiKey as string;

    // The citizen's wallet receives a licence through OID4VCI.
    const offer = await app.call('POST', '/agency/offers', {
      token: apiKey,
      body: {
        type: 'driving-licence',
        txCode: false,
        claims: {
          family_name: '陈',
          given_name: '静',
          birth_date: '1990-09-09',
          licence_number: '440101199009091234',
          categories: ['C1'],
          expiry_date: '2033-09-09',
        },
      },
    });
    const credentialOffer = await citizen.vci.resolveCredentialOffer(offer.body.credentialOffer);
    const issuerMetadata = await citizen.vci.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await citizen.vci.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
    });
    const holderKey: Jwk = citizen.newKey();
    const { c_nonce: nonce } = await citizen.vci.requestNonce({ issuerMetadata });
    const { jwt } = await citizen.vci.createCredentialRequestJwtProof({
      credentialConfigurationId: 'driving-licence.sd_jwt',
      issuerMetadata,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holderKey },
      nonce,
    });
    const { credentialResponse } = await citizen.vci.retrieveCredentials({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: 'driving-licence.sd_jwt',
      proof: { proof_type: 'jwt', jwt },
    });
    const credential = (credentialResponse.credentials![0] as { credential: string }).credential;

    // The desk opens a request and shows its QR code.
    const created = await app.call('POST', '/rp/requests', {
      token: rpKey,
      body: {
        dcql_query: {
          credentials: [
            {
              id: 'licence',
              format: 'dc+sd-jwt',
              meta: { vct_values: [`${app.url}/vct/driving-licence`] },
              claims: [{ path: ['categories'] }, { path: ['expiry_date'] }],
            },
          ],
        },
        redirect_uri: 'https://rental.example/done',
      },
    });
    const page = await browser.newPage();
    await page.goto(created.body.deskUrl);
    await page.getByTestId('qr').locator('svg').waitFor({ state: 'visible' });
    expect(await page.getByTestId('verdict').textContent()).toContain('Waiting');
    expect(await page.locator('#same-device').getAttribute('href')).toBe(created.body.link);

    // The citizen scans it: the wallet answers.
    const parsed = citizen.vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: created.body.link });
    const resolved = await citizen.vp.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: parsed.params as never,
    });
    const request = resolved.authorizationRequestPayload as { nonce: string; client_id: string };
    const holder = new SDJwtVcInstance({
      hasher: digest,
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(citizen.privateJwk(holderKey)),
      kbSignAlg: 'ES256',
    });
    const presentation = await holder.present(
      credential,
      { categories: true, expiry_date: true },
      { kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.client_id, nonce: request.nonce } } },
    );
    const response = await citizen.vp.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request as never,
      authorizationResponsePayload: { vp_token: { licence: [presentation] } },
      jarm: {
        encryption: { nonce: request.nonce },
        serverMetadata: {
          authorization_encryption_alg_values_supported: ['ECDH-ES'],
          authorization_encryption_enc_values_supported: ['A128GCM'],
        },
      },
    } as never);
    const submitted = await citizen.vp.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request as never,
      authorizationResponsePayload: (response as { authorizationResponsePayload: never }).authorizationResponsePayload,
      jarm: (response as { jarm?: { responseJwt: string } }).jarm,
    });
    // Same-device flow: the wallet is told where to send the citizen back.
    expect(((await submitted.response.json()) as { redirect_uri: string }).redirect_uri).toBe(
      `https://rental.example/done?request=${created.body.id}`,
    );

    // The desk shows the verdict and the two claims, nothing else.
    await page.getByTestId('verdict').filter({ hasText: 'Verified' }).waitFor();
    expect(await page.getByTestId('qr').isHidden()).toBe(true);
    expect(await page.getByTestId('claims').innerText()).toMatch(/categories\s+C1\s+expiry_date\s+2033-09-09/);
    expect(await page.content()).not.toContain('440101199009091234');
    await page.close();
  });
});
