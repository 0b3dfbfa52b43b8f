import { existsSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import * as oidc from 'openid-client';
import pg from 'pg';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { runCli } from '../src/cli.js';
import { jest } from '@jest/globals';
import { AuditLog } from '../src/audit/index.js';
import { CitizenLoginModule, OpenIdProvider } from '../src/citizens/index.js';
import { INTERACTION_TTL_SECONDS } from '../src/citizens/login/provider-config.js';
import { CitizenLoginClaimsEntity, CitizenLoginEntity } from '../src/citizens/login/login.entity.js';
import { CitizenLoginRepository } from '../src/citizens/login/login.repository.js';
import { Database } from '../src/persistence/index.js';
import { StatusEntryEntity, StatusService } from '../src/status/index.js';
import { holdNextCall } from './support/hold.js';
import { faultyPolls } from './support/poll-faults.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { wallet, type HeldCredential } from './support/wallet.js';
import { walletLogin, type Portal } from './support/wallet-login.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORTAL_A = 'https://portal-a.example';
const PORTAL_B = 'https://portal-b.example';
const PORTAL_C = 'https://portal-c.example';
const PORTAL_D = 'https://portal-d.example';
const RESIDENT = {
  family_name: '王',
  given_name: '芳',
  birth_date: '1988-03-14',
  sex: 'female',
  id_number: '11010519880314002X',
  address: '北京市朝阳区',
};

/**
 * Wallet login: openid-client is the portal, headless Chromium the citizen's browser on the login page, and the
 * @openid4vc/openid4vp client the citizen's wallet answering the request shown there.
 */
describe('wallet login (OpenID Provider)', () => {
  let app: TestApp;
  let browser: Browser;
  let issuer: string;
  let agencyApiKey: string;
  const citizen = wallet();
  let identity: HeldCredential;
  let licence: HeldCredential;
  let portalA: Portal;
  let portalB: Portal;
  /** Portal A's subject for the citizen, from the first login. */
  let subAtA: string;
  /** An access token of portal A, kept for the retention test. */
  let accessTokenAtA: string;
  let kit: ReturnType<typeof walletLogin>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    app = await startTestApp();
    kit = walletLogin({ app, browser, citizen, held: () => identity });
    ({ issuer } = kit);
    ({ apiKey: agencyApiKey } = await createActiveAgency(app, 'login-agency', 'Public Security Bureau 公安局', [
      'resident-identity',
      'driving-licence',
    ]));
    identity = await citizen.receive(app, agencyApiKey, { type: 'resident-identity', txCode: false, claims: RESIDENT });
    // The driving licence number is the citizen ID number.
    licence = await citizen.receive(app, agencyApiKey, {
      type: 'driving-licence',
      txCode: false,
      claims: {
        family_name: RESIDENT.family_name,
        given_name: RESIDENT.given_name,
        birth_date: RESIDENT.birth_date,
        licence_number: RESIDENT.id_number,
        categories: ['C1'],
        expiry_date: '2034-03-14',
      },
    });
    portalA = await kit.registerPortal(PORTAL_A, 'Housing portal 住房服务', ['resident_identity', 'driving_licence']);
    portalB = await kit.registerPortal(PORTAL_B, 'Tax portal 税务服务', ['resident_identity'], 'private_key_jwt');
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('publishes discovery and a JWKS of ES256 and RS256 keys without private members', async () => {
    const metadata = portalA.config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata).toEqual(
      expect.objectContaining({
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/me`,
        pushed_authorization_request_endpoint: `${issuer}/request`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        subject_types_supported: ['pairwise'],
        // RS256 is every OpenID Provider's duty (Core §15.1, Discovery §3); ES256 is what portals get by default.
        id_token_signing_alg_values_supported: ['ES256', 'RS256'],
        acr_values_supported: expect.arrayContaining([
          'urn:chancery:acr:credential:resident-identity',
          'urn:chancery:acr:credential:driving-licence',
        ]),
        scopes_supported: expect.arrayContaining(['openid', 'resident_identity', 'driving_licence']),
      }),
    );
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );
    // RFC 8414 discovery too (the well-known name inserted before the issuer's path), as openid-client does it.
    const oauth2 = await oidc.discovery(new URL(issuer), portalA.clientId, undefined, undefined, {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    expect(oauth2.serverMetadata()).toEqual(metadata);
    const jwksResponse = await app.call('GET', '/oidc/jwks');
    const jwks = jwksResponse.body as { keys: Record<string, unknown>[] };
    // The provider answers on the raw response: our security headers are copied onto it first.
    expect(jwksResponse.headers.get('x-frame-options')).toBe('DENY');
    expect(jwksResponse.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' }),
      expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' }),
    ]);
    for (const key of jwks.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member);
      // Each kid is the key's RFC 7638 thumbprint, as jose computes it.
      expect(key['kid']).toBe(await calculateJwkThumbprint(key as JWK));
    }
    expect(Buffer.from(jwks.keys[1]!['n'] as string, 'base64url')).toHaveLength(256);
  });

  it('signs the ID tokens of a portal that registered RS256 with the RSA key, and others still with ES256', async () => {
    const portalC = await kit.registerPortal(
      PORTAL_C,
      'Library portal 图书馆',
      ['resident_identity'],
      'client_secret_basic',
      'RS256',
    );
    const listed = await app.operator('GET', `/operator/oidc-clients/${portalC.clientId}`);
    expect(listed.body.idTokenSignedResponseAlg).toBe('RS256');
    const done = await kit.login(portalC);
    // openid-client (told id_token_signed_response_alg RS256) checked the ID token; jose checks it against the JWKS.
    const { tokens, claims } = await kit.exchange(portalC, done);
    const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
    const verified = await jwtVerify(tokens.id_token!, jwks, { issuer, audience: portalC.clientId, algorithms: ['RS256'] });
    expect(verified.protectedHeader.alg).toBe('RS256');
    expect(verified.payload.sub).toBe(claims.sub);
    await expect(jwtVerify(tokens.id_token!, jwks, { issuer, algorithms: ['ES256'] })).rejects.toThrow();
    const asDefault = await kit.exchange(portalA, await kit.login(portalA));
    expect(decodeProtectedHeader(asDefault.tokens.id_token!).alg).toBe('ES256');
  });

  it('logs a citizen in through PAR and the QR code: the ID token and userinfo carry only the scoped claims', async () => {
    const done = await kit.login(portalA, { par: true });
    expect(done.callback.searchParams.get('iss')).toBe(issuer);
    // A portal that exchanges its code a while after the login: its access token ends with the login's grant and
    // claims, not a whole retention period after the exchange.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const { tokens, claims } = await kit.exchange(portalA, done);
    const [released] = await app.app
      .get(Database)
      .use(undefined, (m) =>
        m
          .getRepository(CitizenLoginClaimsEntity)
          .find({ where: { clientId: portalA.clientId }, order: { createdAt: 'DESC' }, take: 1 }),
      );
    expect(tokens.expires_in).toBeLessThan(app.config.oidc.claimsRetentionSeconds);
    expect(Math.floor(Date.now() / 1000) + tokens.expires_in!).toBeLessThanOrEqual(
      Math.ceil(released!.purgeAt.getTime() / 1000) + 1,
    );
    // openid-client checked the ID token (ES256 against the JWKS, iss, aud, nonce, exp); so does jose directly.
    const verified = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${issuer}/jwks`)), {
      issuer,
      audience: portalA.clientId,
      algorithms: ['ES256'],
    });
    expect(verified.protectedHeader.alg).toBe('ES256');
    expect(claims).toEqual(
      expect.objectContaining({
        family_name: RESIDENT.family_name,
        given_name: RESIDENT.given_name,
        birthdate: RESIDENT.birth_date,
        acr: 'urn:chancery:acr:credential:resident-identity',
        amr: ['pop'],
      }),
    );
    for (const withheld of ['id_number', 'sex', 'address', 'birth_date', 'licence_categories'])
      expect(claims).not.toHaveProperty(withheld);
    expect(JSON.stringify(claims)).not.toContain(RESIDENT.id_number);
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    subAtA = claims.sub;
    accessTokenAtA = tokens.access_token;
    // The audit trail (ADR 16) has the login: portal, the pairwise sub it received, acr; no claim.
    const logins = await app.app
      .get(Database)
      .use(undefined, (m) => m.query(`SELECT data FROM audit_entries WHERE kind = 'oidc.login'`));
    expect(JSON.parse(logins.at(-1).data)).toEqual(expect.objectContaining({ sub: claims.sub, acr: claims.acr }));
    expect(JSON.stringify(logins)).not.toContain(RESIDENT.family_name);

    const userinfo = await oidc.fetchUserInfo(portalA.config, tokens.access_token, claims.sub);
    expect(userinfo).toEqual({
      sub: claims.sub,
      family_name: RESIDENT.family_name,
      given_name: RESIDENT.given_name,
      birthdate: RESIDENT.birth_date,
    });
  });

  it('gives a citizen one sub per portal: the same at every login and with either credential, another at another portal', async () => {
    // Same portal, the driving licence this time, through the same-device link and a plain authorization request.
    const again = await kit.exchange(
      portalA,
      await kit.login(portalA, { scope: 'openid driving_licence', sameDevice: true, held: licence }),
    );
    expect(again.claims.sub).toBe(subAtA);
    expect(again.claims.acr).toBe('urn:chancery:acr:credential:driving-licence');
    expect(again.claims).toEqual(
      expect.objectContaining({
        family_name: RESIDENT.family_name,
        licence_categories: ['C1'],
        licence_expiry_date: '2034-03-14',
      }),
    );
    expect(again.claims).not.toHaveProperty('birthdate');
    expect(again.claims).not.toHaveProperty('licence_number');

    // Another portal (private_key_jwt) with openid alone: a different sub, and no claim but sub and acr.
    const elsewhere = await kit.exchange(portalB, await kit.login(portalB, { scope: 'openid' }));
    expect(elsewhere.claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(elsewhere.claims.sub).not.toBe(subAtA);
    expect(elsewhere.claims.acr).toBe('urn:chancery:acr:credential:resident-identity');
    for (const withheld of ['family_name', 'given_name', 'birthdate']) expect(elsewhere.claims).not.toHaveProperty(withheld);
    expect(await oidc.fetchUserInfo(portalB.config, elsewhere.tokens.access_token, elsewhere.claims.sub)).toEqual({
      sub: elsewhere.claims.sub,
    });
  });

  it('finishes a login whose finisher died half-way: the next poll completes it, nothing is written twice', async () => {
    const database = app.app.get(Database);
    const audit = app.app.get(AuditLog);
    const logins = app.app.select(CitizenLoginModule).get(CitizenLoginRepository, { strict: true });
    const releasedClaims = () => database.use(undefined, (m) => m.getRepository(CitizenLoginClaimsEntity).count());
    const loginEntries = async () =>
      Number(
        (
          (await database.use(undefined, (m) =>
            m.query(`SELECT COUNT(*) AS n FROM audit_entries WHERE kind = 'oidc.login'`),
          )) as { n: number | string }[]
        )[0]!.n,
      );
    const [claimsBefore, entriesBefore] = [await releasedClaims(), await loginEntries()];
    // The finisher fails at the login's audit entry, and its process dies before it can reopen the login.
    let crashed = false;
    const append = audit.append.bind(audit);
    const failing = jest.spyOn(audit, 'append').mockImplementation(async (event, tx) => {
      if (event.kind === 'oidc.login' && !crashed) {
        crashed = true;
        throw new Error('the process died');
      }
      return append(event, tx);
    });
    const dead = jest.spyOn(logins, 'reopenLogin').mockResolvedValueOnce(undefined);
    const started = await kit.startLogin(portalA);
    try {
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      await eventually(async () => (crashed ? true : undefined));
      // The claims released to the portal went with the failed audit entry.
      expect(await releasedClaims()).toBe(claimsBefore);
      // The page goes on polling; once that finish is old enough to be abandoned, a poll finishes the login.
      const uid = /\/interaction\/([^/?#]+)/.exec(started.page.url())![1]!;
      await database.use(undefined, (m) =>
        m.getRepository(CitizenLoginEntity).update({ interactionUid: uid }, { finishedAt: new Date(Date.now() - 60_000) }),
      );
      const callback = new URL((await started.landing).url());
      expect(callback.searchParams.get('code')).toBeTruthy();
      const { claims } = await kit.exchange(portalA, { ...started, callback });
      expect(claims.sub).toBe(subAtA);
      expect(await releasedClaims()).toBe(claimsBefore + 1);
      expect(await loginEntries()).toBe(entriesBefore + 1);
    } finally {
      failing.mockRestore();
      dead.mockRestore();
      await started.context.close();
    }
  });

  it('lets a finish taken over as abandoned neither record its grant nor reopen the page when it resumes', async () => {
    const database = app.app.get(Database);
    const logins = app.app.select(CitizenLoginModule).get(CitizenLoginRepository, { strict: true });
    const op = app.app.get(OpenIdProvider);
    const releasedClaims = () => database.use(undefined, (m) => m.getRepository(CitizenLoginClaimsEntity).count());
    const claimsBefore = await releasedClaims();
    // The first finish stalls before its transaction (past the 30 s after which a finish counts as abandoned).
    const { reached: stalling, release: resume, spy: slow } = holdNextCall(op, 'subjectFor');
    const reopened = jest.spyOn(logins, 'reopenLogin');
    const started = await kit.startLogin(portalA);
    try {
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      await stalling;
      const uid = /\/interaction\/([^/?#]+)/.exec(started.page.url())![1]!;
      await database.use(undefined, (m) =>
        m.getRepository(CitizenLoginEntity).update({ interactionUid: uid }, { finishedAt: new Date(Date.now() - 60_000) }),
      );
      // The page's poll waits on the stalled finish; the citizen reloads, which takes the page over and logs in.
      await started.page.reload().catch(() => undefined);
      const callback = new URL((await started.landing).url());
      expect(callback.searchParams.get('code')).toBeTruthy();
      const finished = await database.use(undefined, (m) =>
        m.getRepository(CitizenLoginEntity).findOneByOrFail({ interactionUid: uid }),
      );
      // The stalled finish resumes: its grant is refused (its claims and entry roll back), its reopen matches nothing.
      resume();
      await eventually(async () => (reopened.mock.calls.length > 0 ? true : undefined));
      await eventually(async () => ((await reopened.mock.results[0]!.value) === undefined ? true : undefined));
      expect(await releasedClaims()).toBe(claimsBefore + 1);
      expect(
        await database.use(undefined, (m) => m.getRepository(CitizenLoginEntity).findOneByOrFail({ interactionUid: uid })),
      ).toMatchObject({ finishedAt: finished.finishedAt, grantId: finished.grantId });
      const { claims } = await kit.exchange(portalA, { ...started, callback });
      expect(claims.sub).toBe(subAtA);
    } finally {
      resume();
      slow.mockRestore();
      reopened.mockRestore();
      await started.context.close();
    }
  });

  it('polls on after the same-device link was handed to no wallet (the page was never left), and continues to the portal', async () => {
    const started = await kit.startLogin(portalA);
    try {
      // No app takes openid4vp: here (as on a desktop without a wallet): the page started to leave and stayed.
      await started.page.getByTestId('same-device').click();
      expect(new URL(started.page.url()).pathname).toContain('/interaction/');
      // The citizen scans the QR code instead; the page finds the verdict and continues.
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      expect(new URL((await started.landing).url()).searchParams.get('code')).toBeTruthy();
    } finally {
      await started.context.close();
    }
  });

  it('answers a wallet redirect that arrives while another finishes the sign-in with the page that polls, not "expired"', async () => {
    const op = app.app.get(OpenIdProvider);
    const { reached: stalling, release: resume, spy: slow } = holdNextCall(op, 'subjectFor');
    const started = await kit.startLogin(portalA);
    try {
      const link = await started.page.request.get((await started.page.getByTestId('same-device').getAttribute('href'))!, {
        maxRedirects: 0,
      });
      const answered = await citizen.answer(link.headers()['location']!, identity);
      expect(answered.status).toBe(200);
      const back = answered.body['redirect_uri'] as string;
      // The first redirect finishes the sign-in and stalls in it; the wallet's second one arrives meanwhile.
      const first = started.page.goto(back).catch(() => undefined);
      await stalling;
      const second = await started.page.request.get(back, { maxRedirects: 0 });
      expect(second.status()).toBe(200);
      expect(await second.text()).toMatch(/data-testid="status" data-status="pending"/);
      resume();
      await first;
      expect(new URL((await started.landing).url()).searchParams.get('code')).toBeTruthy();
    } finally {
      resume();
      slow.mockRestore();
      await started.context.close();
    }
  });

  it('completes a finish that failed after its grant committed with that grant, not a second one', async () => {
    const database = app.app.get(Database);
    const releasedClaims = () => database.use(undefined, (m) => m.getRepository(CitizenLoginClaimsEntity).count());
    const claimsBefore = await releasedClaims();
    // The grant, its claims and its audit entry commit; giving the interaction its result then fails once.
    const provider = app.app.get(OpenIdProvider).provider;
    const failing = jest.spyOn(provider, 'interactionResult').mockRejectedValueOnce(new Error('the adapter failed'));
    const started = await kit.startLogin(portalA);
    try {
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      // The page's next poll completes the login with the grant already committed.
      const callback = new URL((await started.landing).url());
      expect(failing).toHaveBeenCalled();
      const { claims } = await kit.exchange(portalA, { ...started, callback });
      expect(claims.sub).toBe(subAtA);
      expect(await releasedClaims()).toBe(claimsBefore + 1);
    } finally {
      failing.mockRestore();
      await started.context.close();
    }
  });

  it('keeps a sign-in through a database outage: the page is told 503 (not that the sign-in ended) and continues after', async () => {
    if (app.dbKind !== 'postgres') return expect(app.dbKind).toBe('sqlite');
    const started = await kit.startLogin(portalA);
    const dbName = new URL((app.config.database as { url: string }).url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    try {
      const statusUrl = `${started.page.url().split('?')[0]}/status`;
      try {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [dbName],
        );
        // The poll the page makes, with its interaction cookie: the provider cannot read the interaction.
        const polled = await started.page.request.get(statusUrl);
        expect(polled.status()).toBe(503);
        expect(Number(polled.headers()['retry-after'])).toBeGreaterThan(0);
        expect(await polled.json()).toMatchObject({ code: 'database_unavailable' });
      } finally {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      }
      await eventually(async () => ((await started.page.request.get(statusUrl)).status() === 200 ? true : undefined));
      expect(await started.page.locator('#status').getAttribute('data-status')).toBe('pending');
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      const callback = new URL((await started.landing).url());
      expect(callback.searchParams.get('code')).toBeTruthy();
    } finally {
      await admin.end();
      await started.context.close();
    }
  });

  it('keeps polling through a rate limit, then continues to the portal', async () => {
    const started = await kit.startLogin(portalA);
    try {
      // Two polls meet the per-sign-in limit; then the provider answers (a reset connection: the desk page's test).
      const polledAt = await faultyPolls(started.page, '**/interaction/*/status', [
        { status: 429, retryAfterSeconds: 2 },
        { status: 429, retryAfterSeconds: 1 },
      ]);
      await eventually(async () => (polledAt.length > 2 ? true : undefined), 30_000, 50);
      // Each 429's Retry-After (2 s, then 1 s; the page polls every 250 ms here) was waited out: lower bounds, which
      // a slow host only lengthens.
      expect(polledAt[1]! - polledAt[0]!).toBeGreaterThanOrEqual(1_950);
      expect(polledAt[2]! - polledAt[1]!).toBeGreaterThanOrEqual(950);
      expect(await started.page.locator('#status').getAttribute('data-status')).toBe('pending');
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      const callback = new URL((await started.landing).url());
      expect(callback.searchParams.get('code')).toBeTruthy();
      expect(callback.searchParams.get('state')).toBe(started.state);
    } finally {
      await started.context.close();
    }
  });

  it('sends the browser back to the portal with access_denied when the sign-in runs out of time', async () => {
    const started = await kit.startLogin(portalA);
    const realNow = Date.now.bind(Date);
    // 580 s on: past the sign-in's end (a 600 s interaction less the margin), not yet past the interaction's.
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + INTERACTION_TTL_SECONDS * 1000 - 20_000);
    try {
      // The page's poll is told the sign-in ended and takes the browser back through the provider.
      const landed = new URL((await started.landing).url());
      expect(landed.origin + landed.pathname).toBe(`${PORTAL_A}/callback`);
      expect(Object.fromEntries(landed.searchParams)).toEqual(
        expect.objectContaining({ error: 'access_denied', state: started.state, iss: issuer }),
      );
      expect(landed.searchParams.has('code')).toBe(false);
    } finally {
      clock.mockRestore();
      await started.context.close();
    }
  });

  it('lets a revoked credential not log in: the page shows the failed check, and cancelling returns access_denied', async () => {
    const other = await citizen.receive(app, agencyApiKey, {
      type: 'resident-identity',
      txCode: false,
      claims: { ...RESIDENT, given_name: '强', id_number: '110105199001010011' },
    });
    const payload = JSON.parse(Buffer.from(other.credential.split('.')[1]!, 'base64url').toString()) as {
      status: { status_list: { idx: number; uri: string } };
    };
    const listId = new URL(payload.status.status_list.uri).pathname.split('/')[2]!;
    const entry = await app.app
      .get(Database)
      .use(undefined, (m) => m.getRepository(StatusEntryEntity).findOneBy({ listId, idx: payload.status.status_list.idx }));
    const revoked = await app.call('POST', `/credentials/${entry!.credentialId}/status`, {
      token: agencyApiKey,
      body: { action: 'revoke', reason: 'lost' },
    });
    expect(revoked.body.revoked).toBe(true);
    await app.app.get(StatusService).publishPending();

    const started = await kit.startLogin(portalA);
    const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, other);
    expect(answered.status).toBe(200);
    const status = started.page.locator('#status[data-status="rejected"]');
    await status.waitFor({ timeout: 30_000 });
    expect((await status.getAttribute('data-failed-checks'))!.split(',')).toContain('status');
    expect(started.page.url()).toContain('/oidc/interaction/');

    await started.page.getByTestId('cancel').click();
    const callback = new URL((await started.landing).url());
    await started.context.close();
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(started.state);
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('ends a sign-in whose portal was deleted meanwhile: no login is finished, the page says it has ended', async () => {
    const doomed = await kit.registerPortal('https://portal-gone.example', 'Gone portal', ['resident_identity']);
    const started = await kit.startLogin(doomed);
    try {
      expect((await app.operator('DELETE', `/operator/oidc-clients/${doomed.clientId}`)).status).toBe(204);
      const answered = await citizen.answer((await started.page.getByTestId('qr').getAttribute('data-link'))!, identity);
      expect(answered.status).toBe(200);
      await started.page.locator('#status[data-status="expired"]').waitFor({ timeout: 30_000 });
      const rows = await app.app
        .get(Database)
        .use(undefined, (m) => m.getRepository(CitizenLoginEntity).find({ where: { clientId: doomed.clientId } }));
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.finishedAt === null)).toBe(true);
    } finally {
      await started.context.close();
    }
  });

  it('takes private_key_jwt assertions signed with a registered RSA key (RS256), as Java and .NET portals sign', async () => {
    expect(portalA.config.serverMetadata().token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'RS256', 'PS256']),
    );
    const portalD = await kit.registerPortal(
      PORTAL_D,
      'Archive portal 档案馆',
      ['resident_identity'],
      'private_key_jwt',
      undefined,
      'RSA',
    );
    const { claims } = await kit.exchange(portalD, await kit.login(portalD));
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('answers prompt=select_account and prompt=login with the wallet login itself', async () => {
    for (const prompt of ['select_account', 'login']) {
      const done = await kit.login(portalA, { prompt });
      expect(done.callback.searchParams.get('error')).toBeNull();
      const { claims } = await kit.exchange(portalA, done);
      expect(claims.sub).toBe(subAtA);
    }
  });

  it('takes the authorization request as a POSTed form (OpenID Connect Core §3.1.2.1), refusing what is no form, passing bad requests on to the provider', async () => {
    const done = await kit.login(portalA, { post: true });
    expect(done.callback.searchParams.get('error')).toBeNull();
    expect(done.callback.searchParams.get('state')).toBe(done.state);
    expect((await kit.exchange(portalA, done)).claims.sub).toBe(subAtA);
    const post = (body: string | URLSearchParams, type: string, path = '/auth') =>
      fetch(`${kit.issuer}${path}`, { method: 'POST', body, headers: { 'content-type': type }, redirect: 'manual' });
    // Not a form, or too long for a URL: an OAuth error, as JSON.
    for (const [body, type] of [
      [JSON.stringify({ client_id: portalA.clientId, response_type: 'code' }), 'application/json'],
      [`client_id=${portalA.clientId}&state=${'s'.repeat(9_000)}`, 'application/x-www-form-urlencoded'],
    ] as const) {
      const answer = await post(body, type);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    }
    // Parameters pass on as sent, so a bad request reaches the portal as it would over GET (RFC 6749 §4.1.2.1).
    const form = new URLSearchParams({
      client_id: portalA.clientId,
      redirect_uri: `${portalA.origin}/callback`,
      response_type: 'code',
      state: 'st-1',
      nonce: 'n-1',
    });
    form.append('scope', 'openid');
    form.append('scope', 'openid resident_identity');
    // The provider's router ignores case and a trailing slash; so does the form's.
    for (const path of ['/auth', '/AUTH/']) {
      const posted = await post(form.toString(), 'application/x-www-form-urlencoded', path);
      expect(posted.status).toBe(303);
      const location = new URL(posted.headers.get('location')!, kit.issuer);
      expect(location.pathname).toBe(new URL(`${kit.issuer}/auth`).pathname);
      expect(location.searchParams.getAll('scope')).toEqual(['openid', 'openid resident_identity']);
      const answered = await fetch(location, { redirect: 'manual' });
      const back = new URL(answered.headers.get('location')!);
      expect(`${back.origin}${back.pathname}`).toBe(`${portalA.origin}/callback`);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe('st-1');
    }
  });

  it('answers login_required when someone else signs in than the citizen id_token_hint names', async () => {
    const { tokens } = await kit.exchange(portalA, await kit.login(portalA));
    const neighbour = await citizen.receive(app, agencyApiKey, {
      type: 'resident-identity',
      txCode: false,
      claims: { ...RESIDENT, given_name: '强', id_number: '110105199001010011' },
    });
    const other = await kit.login(portalA, { held: neighbour, idTokenHint: tokens.id_token });
    expect(other.callback.searchParams.get('error')).toBe('login_required');
    expect(other.callback.searchParams.get('code')).toBeNull();
    // The citizen it names signs in as usual.
    const same = await kit.login(portalA, { idTokenHint: tokens.id_token });
    expect((await kit.exchange(portalA, same)).claims.sub).toBe(subAtA);
  });

  it('lets a portal without PKCE sign a citizen in when it sends a nonce; its code is refused with a verifier', async () => {
    const done = await kit.login(portalA, { pkce: false });
    expect(done.pkce).toBe(false);
    const { claims } = await kit.exchange(portalA, done);
    expect(claims.nonce).toBe(done.nonce);
    expect(claims.sub).toBe(subAtA);
    // PKCE downgrade (RFC 9700 §4.8.2): a code issued without a challenge is not redeemed with a verifier.
    const again = await kit.login(portalA, { pkce: false });
    const withVerifier = await kit.post(
      '/token',
      {
        grant_type: 'authorization_code',
        code: again.callback.searchParams.get('code')!,
        redirect_uri: `${PORTAL_A}/callback`,
        code_verifier: oidc.randomPKCECodeVerifier(),
      },
      kit.basic(portalA),
    );
    expect(withVerifier).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
  });

  it('refuses unknown clients, unregistered redirect URIs, missing PKCE and disallowed scopes with OAuth errors', async () => {
    const redirect = `${PORTAL_A}/callback`;
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const request = { response_type: 'code', scope: 'openid resident_identity', redirect_uri: redirect, state: 's1' };
    const pkce = { code_challenge: challenge, code_challenge_method: 'S256' };

    // Pushed authorization requests: client authentication first, then the request.
    const unknownClient = await kit.post('/request', {
      ...request,
      ...pkce,
      client_id: randomUUID(),
      client_secret: 'x'.repeat(43),
    });
    expect(unknownClient).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
    const wrongSecret = await kit.post('/request', { ...request, ...pkce, client_id: portalA.clientId, client_secret: 'wrong' });
    expect(wrongSecret).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
    // Neither PKCE nor a nonce (an empty nonce is none).
    const noPkce = await kit.post('/request', { ...request, client_id: portalA.clientId }, kit.basic(portalA));
    expect(noPkce).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_request' }) });
    const emptyNonce = await kit.post('/request', { ...request, client_id: portalA.clientId, nonce: '' }, kit.basic(portalA));
    expect(emptyNonce).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_request' }) });
    const plainPkce = await kit.post(
      '/request',
      { ...request, client_id: portalA.clientId, code_challenge: challenge, code_challenge_method: 'plain' },
      kit.basic(portalA),
    );
    expect(plainPkce).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_request' }) });
    const otherRedirect = await kit.post(
      '/request',
      { ...request, ...pkce, client_id: portalA.clientId, redirect_uri: 'https://evil.example/callback' },
      kit.basic(portalA),
    );
    expect(otherRedirect.status).toBe(400);
    expect(otherRedirect.body.error).toMatch(/^invalid_(request|redirect_uri)$/);

    // The authorization endpoint: nothing is sent to an unverified redirect URI, the rest goes back to the portal.
    expect(await kit.authorize({ ...request, ...pkce, client_id: randomUUID() })).toEqual(
      expect.objectContaining({ status: 400, pageError: 'invalid_client' }),
    );
    expect(
      await kit.authorize({ ...request, ...pkce, client_id: portalA.clientId, redirect_uri: `${PORTAL_A}/callback/other` }),
    ).toEqual(expect.objectContaining({ status: 400, pageError: 'invalid_redirect_uri' }));
    const missingPkce = await kit.authorize({ ...request, client_id: portalA.clientId });
    expect(missingPkce.status).toBe(303);
    expect(missingPkce.location!.origin + missingPkce.location!.pathname).toBe(redirect);
    expect(missingPkce.location!.searchParams.get('error')).toBe('invalid_request');
    expect(missingPkce.location!.searchParams.get('state')).toBe('s1');
    // No single sign-on: a portal asking for no interaction is told a login is needed.
    const silent = await kit.authorize({ ...request, ...pkce, client_id: portalA.clientId, prompt: 'none' });
    expect(silent.location!.searchParams.get('error')).toBe('login_required');
    const notAllowed = await kit.authorize({
      ...request,
      ...pkce,
      client_id: portalB.clientId,
      redirect_uri: `${PORTAL_B}/callback`,
      scope: 'openid driving_licence',
    });
    expect(notAllowed.location!.searchParams.get('error')).toBe('invalid_scope');

    // Two credential scopes in one login: the login page sends the portal invalid_scope.
    const twoCredentials = await kit.startLoginExpectingError(portalA, 'openid resident_identity driving_licence');
    expect(twoCredentials.searchParams.get('error')).toBe('invalid_scope');

    // Malformed requests get their error shape, never a 5xx: OAuth JSON from the provider's endpoints, problem
    // documents elsewhere; a login page is only served to the browser holding its interaction cookie.
    const junk = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: string }).error).toBe('invalid_request');
    const huge = await kit.post('/token', { grant_type: 'authorization_code', code: 'x'.repeat(100_000) }, kit.basic(portalA));
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    expect(huge.body.error).toEqual(expect.any(String));
    const unknownPath = await app.call('GET', '/oidc/nothing-here');
    expect(unknownPath).toEqual(expect.objectContaining({ status: 404, body: expect.objectContaining({ code: 'not_found' }) }));
    const noCookie = await app.call('GET', '/oidc/interaction/AAAAAAAAAAAAAAAAAAAAA/status');
    expect(noCookie).toEqual(expect.objectContaining({ status: 404, body: expect.objectContaining({ code: 'not_found' }) }));
    expect((await app.call('GET', '/oidc/interaction/..%2F..%2Fetc/status')).status).toBe(400);
  });

  it('redeems a code once: a wrong verifier, a replay and concurrent redemptions get invalid_grant', async () => {
    const done = await kit.login(portalA);
    const code = done.callback.searchParams.get('code')!;
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: `${PORTAL_A}/callback` };
    const wrongVerifier = await kit.post(
      '/token',
      { ...exchange, code_verifier: oidc.randomPKCECodeVerifier() },
      kit.basic(portalA),
    );
    expect(wrongVerifier).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
    // Ten concurrent redemptions of the same code: exactly one gets tokens.
    const attempts = await Promise.all(
      Array.from({ length: 10 }, () => kit.post('/token', { ...exchange, code_verifier: done.codeVerifier }, kit.basic(portalA))),
    );
    const winners = attempts.filter((attempt) => attempt.status === 200);
    expect(winners).toHaveLength(1);
    // The same citizen at the same portal with the same credential: the same sub as at the first login.
    const idToken = JSON.parse(Buffer.from(winners[0]!.body['id_token']!.split('.')[1]!, 'base64url').toString()) as {
      sub: string;
    };
    expect(idToken.sub).toBe(subAtA);
    for (const refused of attempts.filter((attempt) => attempt.status !== 200)) {
      expect(refused).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
    }
    const replay = await kit.post('/token', { ...exchange, code_verifier: done.codeVerifier }, kit.basic(portalA));
    expect(replay).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
  });

  it('registers portals through the operator API and the CLI, refusing loose redirect URIs', async () => {
    const refused = await app.operator('POST', '/operator/oidc-clients', {
      name: 'Loose portal',
      redirectUris: ['https://a.example/cb#frag', 'https://*.example/cb', 'https://b.example/cb', 'ftp://c.example/cb'],
      scopes: ['resident_identity', 'everything'],
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('invalid_request');
    const paths = (refused.body.violations as { path: string }[]).map((violation) => violation.path);
    expect(paths).toEqual(
      expect.arrayContaining(['redirectUris.0', 'redirectUris.1', 'redirectUris.3', 'redirectUris', 'scopes.1', 'jwks']),
    );
    const privateKey = await app.operator('POST', '/operator/oidc-clients', {
      name: 'Leaky portal',
      redirectUris: ['https://a.example/cb'],
      scopes: ['resident_identity'],
      tokenEndpointAuthMethod: 'private_key_jwt',
      // A real P-256 key, private half included.
      jwks: { keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })] },
    });
    expect(privateKey.status).toBe(400);
    expect(privateKey.body.violations).toEqual([expect.objectContaining({ path: 'jwks.keys.0' })]);

    const env = { CHANCERY_URL: app.url, OPERATOR_API_KEY: app.operatorApiKey };
    const created = await runCli(
      [
        'oidc-client:create',
        '--name',
        'CLI portal',
        '--redirect-uri',
        'https://cli.example/callback',
        '--redirect-uri',
        'https://cli.example/callback2',
        '--scope',
        'driving_licence',
        '--auth-method',
        'client_secret_post',
        '--id-token-alg',
        'RS256',
        '--data-sharing-permission',
        'consortium:permission:licence-check',
      ],
      env,
    );
    expect(created.ok).toBe(true);
    const { client, clientSecret } = created.output as { client: Record<string, unknown>; clientSecret: string };
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client).toEqual(
      expect.objectContaining({
        redirectUris: ['https://cli.example/callback', 'https://cli.example/callback2'],
        scopes: ['openid', 'driving_licence'],
        tokenEndpointAuthMethod: 'client_secret_post',
        idTokenSignedResponseAlg: 'RS256',
        dataSharingPermission: 'consortium:permission:licence-check',
        issuer,
      }),
    );
    const listed = (await runCli(['oidc-client:list'], env)).output as { clientId: string }[];
    expect(listed.map((entry) => entry.clientId)).toEqual(expect.arrayContaining([portalA.clientId, client['clientId']]));
    expect(JSON.stringify(listed)).not.toContain(clientSecret);
    // The secret is stored only as a hash.
    const stored = await app.app.get(Database).use(undefined, (m) => m.query('SELECT * FROM oidc_clients'));
    expect(JSON.stringify(stored)).not.toContain(clientSecret);

    // Its credentials (client_secret_post: in the body) work until it is deleted, then they are refused.
    const cli = { clientId: client['clientId'] as string, secret: clientSecret };
    const before = await kit.post('/request', {
      client_id: cli.clientId,
      client_secret: clientSecret,
      response_type: 'code',
      scope: 'openid driving_licence',
      redirect_uri: 'https://cli.example/callback',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    expect(before).toEqual({ status: 201, body: expect.objectContaining({ request_uri: expect.any(String) }) });
    expect((await runCli(['oidc-client:delete', cli.clientId], env)).ok).toBe(true);
    expect((await app.operator('GET', `/operator/oidc-clients/${cli.clientId}`)).status).toBe(404);
    const after = await kit.post('/request', {
      client_id: cli.clientId,
      client_secret: clientSecret,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'https://cli.example/callback',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect(after).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
  });

  it('commits a portal registration or deletion with its audit entry: a failed append changes nothing', async () => {
    const audited = async (kind: string, clientId: string) => {
      const p = app.dbKind === 'postgres' ? ['$1', '$2'] : ['?', '?'];
      const rows = (await app.app
        .get(Database)
        .dataSource.query(`SELECT COUNT(*) AS n FROM audit_entries WHERE kind = ${p[0]} AND subject = ${p[1]}`, [
          kind,
          `oidc-client:${clientId}`,
        ])) as { n: number | string }[];
      return Number(rows[0]!.n);
    };
    const registration = {
      name: 'Atomic portal',
      redirectUris: ['https://atomic.example/cb'],
      scopes: ['driving_licence'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    };
    const named = async () =>
      ((await app.operator('GET', '/operator/oidc-clients')).body as { name: string }[]).filter(
        (client) => client.name === registration.name,
      );
    const append = jest.spyOn(app.app.get(AuditLog), 'append');
    const failOnce = () => append.mockRejectedValueOnce(new Error('audit log unavailable'));
    try {
      failOnce();
      const unregistered = await app.operator('POST', '/operator/oidc-clients', registration);
      expect(unregistered.status).toBe(500);
      expect(unregistered.body.clientSecret).toBeUndefined();
      expect(await named()).toEqual([]);
      const registered = await app.operator('POST', '/operator/oidc-clients', registration);
      expect(registered.status).toBe(201);
      const clientId = registered.body.client.clientId as string;
      expect(await named()).toHaveLength(1);
      expect(await audited('oidc.client.created', clientId)).toBe(1);

      failOnce();
      expect((await app.operator('DELETE', `/operator/oidc-clients/${clientId}`)).status).toBe(500);
      expect((await app.operator('GET', `/operator/oidc-clients/${clientId}`)).status).toBe(200);
      expect(await audited('oidc.client.deleted', clientId)).toBe(0);
      expect((await app.operator('DELETE', `/operator/oidc-clients/${clientId}`)).status).toBe(204);
      expect((await app.operator('GET', `/operator/oidc-clients/${clientId}`)).status).toBe(404);
      expect(await audited('oidc.client.deleted', clientId)).toBe(1);
    } finally {
      append.mockRestore();
    }
  });

  it('keeps no claim in clear at rest, and none after the retention: purged with the tokens', async () => {
    const db = app.app.get(Database);
    const tables = ['oidc_records', 'citizen_login_claims', 'citizen_logins', 'citizen_login_settings'];
    for (const table of tables) {
      const rows = JSON.stringify(await db.use(undefined, (m) => m.query(`SELECT * FROM ${table}`)));
      for (const value of [RESIDENT.id_number, RESIDENT.family_name, RESIDENT.birth_date, subAtA])
        expect(rows).not.toContain(value);
    }
    const claims = await db.use(undefined, (m) => m.query('SELECT COUNT(*) AS n FROM citizen_login_claims'));
    expect(Number(claims[0].n)).toBeGreaterThan(0);
    expect(await oidc.fetchUserInfo(portalA.config, accessTokenAtA, subAtA)).toEqual(
      expect.objectContaining({ family_name: RESIDENT.family_name }),
    );

    const retention = app.config.oidc.claimsRetentionSeconds;
    const purged = await app.app.get(OpenIdProvider).purgeNow(new Date(Date.now() + (retention + 1) * 1000));
    expect(purged.claims).toBeGreaterThan(0);
    const left = await db.use(undefined, (m) => m.query('SELECT COUNT(*) AS n FROM citizen_login_claims'));
    expect(Number(left[0].n)).toBe(0);
    await expect(oidc.fetchUserInfo(portalA.config, accessTokenAtA, subAtA)).rejects.toThrow();
  });
});
