import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Database } from '../src/persistence/index.js';
import { PresentationRequestEntity } from '../src/verifier/index.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { faultyPolls } from './support/poll-faults.js';
import { wallet } from './support/wallet.js';
import { walletLogin } from './support/wallet-login.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const LICENCE = {
  family_name: '李',
  given_name: '娜',
  birth_date: '1991-03-02',
  licence_number: '440101199103021234',
  categories: ['C1'],
  issue_date: '2012-01-05',
  expiry_date: '2032-01-05',
};

/**
 * Issue 17: the citizens' "my records" page (用证记录) in headless Chromium, the @openid4vc/openid4vp wallet
 * answering its requests: cross-device (QR code, the page polls the records API) and same-device (the wallet
 * returns the browser with a response_code; the read token waits in an HttpOnly cookie). A holder sees exactly
 * the verifications of their own credential; a refused or expired presentation says so.
 */
describe('my records page', () => {
  let app: TestApp;
  let browser: Browser;
  const alice = wallet();
  const bob = wallet();
  let aliceHeld: Awaited<ReturnType<typeof alice.receive>>;
  let bobHeld: Awaited<ReturnType<typeof bob.receive>>;
  const parties: Record<string, string> = {};

  const verifyWith = async (party: string, held: typeof aliceHeld, claims: string[], holder: typeof alice) => {
    const created = await app.call('POST', '/rp/requests', {
      token: parties[party],
      body: {
        dcql_query: drivingLicenceQuery(app.config.http.publicUrl, claims),
      },
    });
    expect(created.status).toBe(201);
    expect((await holder.answer(created.body.link, held)).status).toBe(200);
  };

  /** The chooser, then the licence's page with its QR code; the poll requests are collected. */
  const openRecordsPage = async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const polls: { url: string; referer: string | undefined }[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/citizens/records/requests/'))
        polls.push({ url: request.url(), referer: request.headers()['referer'] });
    });
    const response = await page.goto(`${app.url}/citizens/records`);
    expect(response?.headers()['cache-control']).toBe('no-store');
    await page.locator('[data-type="driving-licence"]').click();
    await page.getByTestId('qr').locator('svg').waitFor({ state: 'visible' });
    return { context, page, polls, link: (await page.getByTestId('qr').getAttribute('data-link'))! };
  };

  const rowsOf = async (page: Page) =>
    page
      .getByTestId('record')
      .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    app = await startTestApp({ AUDIT_ANCHOR_INTERVAL_MS: '0' });
    const { apiKey } = await createActiveAgency(app, 'dmv-records', 'Records Vehicle Office', ['driving-licence']);
    for (const [name, claims] of [
      ['Bank 银行', ['categories', 'expiry_date']],
      ['Police 交警', ['family_name', 'given_name', 'expiry_date']],
      ['Hotel <b>酒店</b>', ['family_name']],
    ] as const) {
      const registered = await app.operator('POST', '/operator/relying-parties', {
        name,
        purpose: `${name} checks`,
        allowedClaims: { 'driving-licence': claims },
        clientIdPrefix: 'decentralized_identifier',
      });
      expect(registered.status).toBe(201);
      parties[name] = registered.body.apiKey;
    }
    const offer = (claims: object) => ({ type: 'driving-licence', formats: ['dc+sd-jwt'], claims, txCode: false });
    aliceHeld = await alice.receive(app, apiKey, offer(LICENCE));
    bobHeld = await bob.receive(app, apiKey, offer({ ...LICENCE, given_name: '伟', licence_number: '440101199103029999' }));
    await verifyWith('Bank 银行', aliceHeld, ['categories', 'expiry_date'], alice);
    await verifyWith('Police 交警', aliceHeld, ['family_name', 'given_name'], alice);
    await verifyWith('Bank 银行', bobHeld, ['expiry_date'], bob);
    await verifyWith('Hotel <b>酒店</b>', bobHeld, ['family_name'], bob);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("shows a holder's own records after a cross-device presentation, with CSP and no token in a URL or referrer", async () => {
    const { context, page, polls, link } = await openRecordsPage();
    try {
      // Security headers of the page: a script nonce, no inline script without it, no-referrer.
      const response = await page.request.get(`${app.url}/citizens/records?type=driving-licence`);
      const csp = response.headers()['content-security-policy']!;
      const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(await response.text()).toContain(`<script nonce="${nonce}">`);
      expect(response.headers()['referrer-policy']).toBe('no-referrer');
      expect(response.headers()['cache-control']).toBe('no-store');
      // An unknown type is a client's mistake: a problem document, not a page or a 500.
      const unknown = await app.call('GET', '/citizens/records?type=no-such-type');
      expect(unknown.status).toBe(400);
      expect(unknown.headers.get('content-type')).toContain('application/problem+json');
      expect((await app.call('GET', '/citizens/records/same-device')).status).toBe(400);

      expect(await page.getByTestId('status').textContent()).toContain('Waiting');
      expect(page.url()).toBe(`${app.url}/citizens/records?type=driving-licence`);
      expect((await alice.answer(link, aliceHeld)).status).toBe(200);
      await page.locator('#status[data-status="verified"]').waitFor({ timeout: 60_000 });
      const rows = await rowsOf(page);
      expect(rows.map((row) => [row[1], row[2], row[3], row[4]])).toEqual([
        ['Bank 银行', 'Bank 银行 checks', 'categories, expiry_date', '通过 / verified'],
        ['Police 交警', 'Police 交警 checks', 'family_name, given_name', '通过 / verified'],
        [expect.stringContaining('用证记录'), expect.stringContaining('使用记录'), 'expiry_date', '通过 / verified'],
      ]);
      expect(await page.getByTestId('qr').isHidden()).toBe(true);
      const html = await page.content();
      expect(html).not.toContain('酒店');
      expect(html).not.toContain(LICENCE.licence_number);
      // The read token travelled only in the poll's query string: never in the page URL, never as a referrer.
      expect(polls.length).toBeGreaterThan(0);
      expect(page.url()).not.toContain('readToken');
      for (const poll of polls) {
        expect(new URL(poll.url).searchParams.get('readToken')).toBeTruthy();
        expect(poll.referer ?? '').toBe('');
      }
    } finally {
      await context.close();
    }
  });

  it('shows another holder only theirs, through the same-device flow, bound to the browser that started it', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${app.url}/citizens/records?type=driving-licence`);
      const sameDevice = await page.getByTestId('same-device').getAttribute('href');
      expect(sameDevice).toBe(`${app.url}/citizens/records/same-device?type=driving-licence`);
      // Following the link: a fresh request, its read token sealed in an HttpOnly cookie, a 303 to the wallet app.
      const redirect = await context.request.get(sameDevice!, { maxRedirects: 0 });
      expect(redirect.status()).toBe(303);
      const walletLink = redirect.headers()['location']!;
      expect(walletLink).toMatch(/^openid4vp:\/\//);
      const cookie = (await context.cookies()).find((entry) => entry.name === 'chancery_records')!;
      expect(cookie).toEqual(expect.objectContaining({ httpOnly: true, sameSite: 'Lax', path: '/citizens/records' }));

      const answered = await bob.answer(walletLink, bobHeld);
      expect(answered.status).toBe(200);
      const back = new URL(answered.body['redirect_uri'] as string);
      expect(back.origin + back.pathname).toBe(`${app.url}/citizens/records/return`);
      expect(back.searchParams.get('response_code')).toBeTruthy();

      // The return link opened in another browser (no cookie: a link sent to someone else) shows nothing.
      const elsewhere = await browser.newContext();
      const stranger = await elsewhere.newPage();
      await stranger.goto(back.href);
      expect(await stranger.getByTestId('status').getAttribute('data-status')).toBe('rejected');
      expect(await stranger.getByTestId('status').textContent()).toContain('not started in this browser');
      expect(await stranger.getByTestId('record').count()).toBe(0);
      await elsewhere.close();
      // The right browser with a forged response code: refused.
      const forged = new URL(back.href);
      forged.searchParams.set('response_code', 'not-the-code');
      await page.goto(forged.href);
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('rejected');
      expect(await page.getByTestId('record').count()).toBe(0);

      await page.goto(back.href);
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('verified');
      const rows = await rowsOf(page);
      expect(rows.map((row) => row[1])).toEqual(['Bank 银行', 'Hotel <b>酒店</b>', expect.stringContaining('用证记录')]);
      expect(rows.map((row) => row[3])).toEqual(['expiry_date', 'family_name', 'expiry_date']);
      // Escaped: the party's name is text, not markup.
      expect(await page.locator('td b').count()).toBe(0);
      const html = await page.content();
      expect(html).not.toContain('Police');
      expect(html).not.toContain('440101199103029999');
      // The cookie is spent once the records were shown.
      expect((await context.cookies()).find((entry) => entry.name === 'chancery_records')).toBeUndefined();
    } finally {
      await context.close();
    }
  });

  it('says clearly when the presentation was not accepted or the request expired', async () => {
    const refused = await openRecordsPage();
    try {
      // A wrong nonce in the key binding: the verifier rejects the presentation.
      expect((await alice.answer(refused.link, aliceHeld, { nonce: 'not-the-nonce' })).status).toBeLessThan(500);
      const status = refused.page.locator('#status[data-status="rejected"]');
      await status.waitFor({ timeout: 60_000 });
      expect(await status.textContent()).toContain('Not accepted');
      expect(await refused.page.getByTestId('record').count()).toBe(0);
      expect(await refused.page.locator('#retry').isVisible()).toBe(true);
    } finally {
      await refused.context.close();
    }

    const late = await openRecordsPage();
    try {
      const poll = await eventually(async () => late.polls[0]);
      const id = new URL(poll.url).pathname.split('/').pop()!;
      // The request's lifetime is over (moved into the past rather than waited for).
      const moved = await app.app
        .get(Database)
        .use(undefined, (m) =>
          m.getRepository(PresentationRequestEntity).update({ id }, { expiresAt: new Date(Date.now() - 60_000) }),
        );
      expect(moved.affected).toBe(1);
      const status = late.page.locator('#status[data-status="expired"]');
      await status.waitFor({ timeout: 60_000 });
      expect(await status.textContent()).toContain('Expired');
      expect(await late.page.getByTestId('record').count()).toBe(0);
      // The wallet can no longer fetch the request.
      await expect(alice.answer(late.link, aliceHeld)).rejects.toThrow();
    } finally {
      await late.context.close();
    }
  });

  it("names the portal of a wallet login in the holder's records", async () => {
    const kit = walletLogin({ app, browser, citizen: alice, held: () => aliceHeld });
    const portal = await kit.registerPortal('https://housing.example', 'Housing portal 住房服务', ['driving_licence']);
    const done = await kit.login(portal, { scope: 'openid driving_licence' });
    expect(done.callback.searchParams.get('code')).toBeTruthy();

    const { context, page, link } = await openRecordsPage();
    try {
      expect((await alice.answer(link, aliceHeld)).status).toBe(200);
      await page.locator('#status[data-status="verified"]').waitFor({ timeout: 60_000 });
      const logins = (await rowsOf(page)).filter((row) => row[1]!.includes('wallet login'));
      expect(logins.map((row) => [row[2], row[4]])).toEqual([['登录 / Sign in to Housing portal 住房服务', '通过 / verified']]);
      expect(logins[0]![3]).toContain('licence_number');
      expect(await page.content()).not.toContain(LICENCE.licence_number);
    } finally {
      await context.close();
    }
  });
  it('keeps waiting through a rate limit and a server error: after a 429 it polls again when Retry-After says', async () => {
    const { context, page, link } = await openRecordsPage();
    try {
      // The next two polls meet the per-request limit (RATE_LIMIT_PER_RESOURCE_PER_MINUTE is off in tests), the
      // one after a server error (a restart's 503), which says nothing about the lookup.
      const polledAt = await faultyPolls(page, '**/citizens/records/requests/**', [
        { status: 429, retryAfterSeconds: 1 },
        { status: 429, retryAfterSeconds: 1 },
        { status: 503 },
      ]);
      // It polls again after each of them, and has not given up meanwhile.
      await eventually(async () => (polledAt.length > 3 ? true : undefined), 30_000, 50);
      // Retry-After waited out; after the server error, not the page's pace (250 ms here) but at least 2 s.
      expect(polledAt[1]! - polledAt[0]!).toBeGreaterThanOrEqual(950);
      expect(polledAt[3]! - polledAt[2]!).toBeGreaterThanOrEqual(1_950);
      expect(await page.locator('#status').getAttribute('data-status')).not.toBe('expired');
      expect((await alice.answer(link, aliceHeld)).status).toBe(200);
      await page.locator('#status[data-status="verified"]').waitFor({ timeout: 60_000 });
      expect((await rowsOf(page)).length).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
