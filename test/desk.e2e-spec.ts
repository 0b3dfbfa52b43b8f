import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { faultyPolls } from './support/poll-faults.js';
import { wallet } from './support/wallet.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';

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
    const held = await citizen.receive(app, apiKey, {
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
    });

    // The desk opens a request and shows its QR code.
    const created = await app.call('POST', '/rp/requests', {
      token: rpKey,
      body: {
        dcql_query: drivingLicenceQuery(app.config.http.publicUrl, ['categories', 'expiry_date']),
        redirect_uri: 'https://rental.example/done',
      },
    });
    const page = await browser.newPage();
    await page.goto(created.body.deskUrl);
    await page.getByTestId('qr').locator('svg').waitFor({ state: 'visible' });
    expect(await page.getByTestId('verdict').textContent()).toContain('Waiting');
    expect(await page.locator('#same-device').getAttribute('href')).toBe(created.body.link);

    // The citizen scans it: the wallet answers, disclosing the two claims.
    const answered = await citizen.answer(created.body.link, held);
    // Same-device flow: the wallet is told where to send the citizen back.
    const back = new URL(answered.body['redirect_uri'] as string);
    expect(back.origin + back.pathname).toBe('https://rental.example/done');
    expect(back.searchParams.get('request')).toBe(created.body.id);
    // The verdict is released to the party's back-end only with the response_code the browser carried.
    const withoutCode = (await app.call('GET', `/rp/requests/${created.body.id}`, { token: rpKey })).body;
    expect(withoutCode).toEqual(expect.objectContaining({ status: 'verified', responseCodeRequired: true }));
    expect(withoutCode.result).toBeUndefined();
    const withCode = (
      await app.call('GET', `/rp/requests/${created.body.id}?response_code=${back.searchParams.get('response_code')}`, {
        token: rpKey,
      })
    ).body;
    expect(withCode.result.credentials[0].claims).toEqual({ categories: ['C1'], expiry_date: '2033-09-09' });

    // The desk's view token alone does not release a same-device verdict (session fixation)…
    const viewOnly = await app.call('GET', `/rp/requests/${created.body.id}/verdict?view=${created.body.viewToken}`);
    expect(viewOnly.body).toEqual(expect.objectContaining({ status: 'verified', responseCodeRequired: true }));
    expect(viewOnly.body.result).toBeUndefined();
    await page.getByTestId('verdict').filter({ hasText: 'Answered on the citizen device' }).waitFor();
    expect(await page.getByTestId('claims').innerText()).toBe('');
    // …the desk opened with the response_code the wallet returned does.
    await page.goto(`${created.body.deskUrl}&response_code=${back.searchParams.get('response_code')}`);

    // The desk shows the verdict and the two claims, nothing else.
    await page.getByTestId('verdict').filter({ hasText: 'Verified' }).waitFor();
    expect(await page.getByTestId('qr').isHidden()).toBe(true);
    expect(await page.getByTestId('claims').innerText()).toMatch(/categories\s+C1\s+expiry_date\s+2033-09-09/);
    expect(await page.content()).not.toContain('440101199009091234');
    await page.close();
  });

  it('keeps waiting through a rate limit and a network failure: polls again, then shows the verdict', async () => {
    const { apiKey } = await createActiveAgency(app, 'desk-agency-2', 'Desk test agency 2', ['driving-licence']);
    const registered = await app.operator('POST', '/operator/relying-parties', {
      name: 'Hotel 酒店',
      purpose: 'Check in',
      allowedClaims: { 'driving-licence': ['expiry_date'] },
    });
    const held = await citizen.receive(app, apiKey, {
      type: 'driving-licence',
      txCode: false,
      claims: {
        family_name: '李',
        given_name: '雷',
        birth_date: '1991-01-01',
        licence_number: '440101199101011234',
        categories: ['C1'],
        expiry_date: '2031-01-01',
      },
    });
    // Cross-device: no redirect, so the desk's view token releases the verdict.
    const created = await app.call('POST', '/rp/requests', {
      token: registered.body.apiKey,
      body: { dcql_query: drivingLicenceQuery(app.config.http.publicUrl, ['expiry_date']) },
    });
    const page = await browser.newPage();
    try {
      // Two polls meet the per-request limit, the next one a broken connection; then the service answers.
      const polledAt = await faultyPolls(page, '**/verdict?**', [
        { status: 429, retryAfterSeconds: 2 },
        { status: 429, retryAfterSeconds: 1 },
        'reset',
      ]);
      await page.goto(created.body.deskUrl);
      await page.getByTestId('qr').locator('svg').waitFor({ state: 'visible' });
      await eventually(async () => (polledAt.length > 3 ? true : undefined), 30_000, 50);
      // Each 429's Retry-After (2 s, then 1 s; the page polls every 250 ms here) was waited out: lower bounds, which
      // a slow host only lengthens.
      expect(polledAt[1]! - polledAt[0]!).toBeGreaterThanOrEqual(1_950);
      expect(polledAt[2]! - polledAt[1]!).toBeGreaterThanOrEqual(950);
      // A failed connection is retried, not at the page's pace but at least 2 s later.
      expect(polledAt[3]! - polledAt[2]!).toBeGreaterThanOrEqual(1_950);
      expect(await page.getByTestId('verdict').textContent()).toContain('Waiting');
      expect((await citizen.answer(created.body.link, held)).status).toBe(200);
      await page.getByTestId('verdict').filter({ hasText: 'Verified' }).waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('claims').innerText()).toMatch(/expiry_date\s+2031-01-01/);
    } finally {
      await page.close();
    }
  });
});
