import type { Browser } from 'playwright-core';
import * as oidc from 'openid-client';
import type { TestApp } from './test-app.js';
import type { HeldCredential, wallet } from './wallet.js';
import { escapeHtml } from '../../src/common/html.js';

/** A portal (relying application) as openid-client sees it; the portals have no server in the tests. */
export interface Portal {
  clientId: string;
  secret?: string;
  config: oidc.Configuration;
  origin: string;
}

export interface LoginOptions {
  scope?: string;
  /** false: a portal whose library has no PKCE (it sends the nonce only). */
  pkce?: boolean;
  prompt?: string;
  /** An ID token the portal has for the user it expects (id_token_hint). */
  idTokenHint?: string;
  par?: boolean;
  /** The portal's page POSTs the authorization request as a form (OpenID Connect Core §3.1.2.1) instead of a link. */
  post?: boolean;
  sameDevice?: boolean;
  held?: HeldCredential;
}

/**
 * The wallet-login test kit: portals registered through the operator API and driven by openid-client, the
 * citizen's browser (headless Chromium) on the login page, and the citizen's wallet (the @openid4vc/openid4vp
 * client of test/support/wallet.ts) answering the request the page shows.
 */
export function walletLogin(kit: {
  app: TestApp;
  browser: Browser;
  citizen: ReturnType<typeof wallet>;
  /** The credential presented unless a login names another. */
  held: () => HeldCredential;
}) {
  const { app, browser, citizen } = kit;
  const issuer = `${app.config.http.publicUrl}/oidc`;

  /** Registers a portal through the operator API and discovers the provider with openid-client. */
  async function registerPortal(
    origin: string,
    name: string,
    scopes: string[],
    method: 'client_secret_basic' | 'private_key_jwt' = 'client_secret_basic',
    /** The ID-token algorithm the portal registers; the portal's library then accepts only that one. */
    idTokenAlg?: 'ES256' | 'RS256',
    /** private_key_jwt: the portal's key, P-256 (ES256 assertions) or RSA 2048 (RS256). */
    clientKey: 'EC' | 'RSA' = 'EC',
  ): Promise<Portal> {
    const algorithm =
      clientKey === 'RSA'
        ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
        : { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = method === 'private_key_jwt' ? await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) : undefined;
    const registered = await app.operator('POST', '/operator/oidc-clients', {
      name,
      redirectUris: [`${origin}/callback`],
      scopes,
      tokenEndpointAuthMethod: method,
      ...(idTokenAlg ? { idTokenSignedResponseAlg: idTokenAlg } : {}),
      ...(keys ? { jwks: { keys: [{ ...(await crypto.subtle.exportKey('jwk', keys.publicKey)), kid: 'portal-key' }] } } : {}),
      dataSharingPermission: 'consortium:permission:housing-identity',
    });
    expect(registered.status).toBe(201);
    const clientId = registered.body.client.clientId as string;
    const auth = keys
      ? oidc.PrivateKeyJwt({ key: keys.privateKey, kid: 'portal-key' })
      : oidc.ClientSecretBasic(registered.body.clientSecret as string);
    const metadata = {
      redirect_uris: [`${origin}/callback`],
      ...(idTokenAlg ? { id_token_signed_response_alg: idTokenAlg } : {}),
    };
    const config = await oidc.discovery(new URL(issuer), clientId, metadata, auth, {
      execute: [oidc.allowInsecureRequests],
    });
    return { clientId, secret: registered.body.clientSecret as string | undefined, config, origin };
  }

  /** The portal starts a login (PKCE S256, state, nonce) and the citizen's browser opens the login page. */
  async function startLogin(portal: Portal, options: LoginOptions = {}) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const parameters = {
      redirect_uri: `${portal.origin}/callback`,
      scope: options.scope ?? 'openid resident_identity',
      ...(options.pkce === false
        ? {}
        : { code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256' }),
      state,
      nonce,
      ...(options.prompt ? { prompt: options.prompt } : {}),
      ...(options.idTokenHint ? { id_token_hint: options.idTokenHint } : {}),
    };
    const url = options.par
      ? await oidc.buildAuthorizationUrlWithPAR(portal.config, parameters)
      : oidc.buildAuthorizationUrl(portal.config, parameters);
    // A fresh browser profile per login: no cookie of another login is carried over.
    const context = await browser.newContext();
    const page = await context.newPage();
    // The portals have no server here: the browser's request to the redirect URI is the landing.
    const landing = page.waitForRequest((request) => request.url().startsWith(`${portal.origin}/callback`), { timeout: 60_000 });
    landing.catch(() => undefined);
    if (options.post) {
      // An auto-submitted form on another origin's page, as portals without a redirect helper send it.
      const fields = [...url.searchParams]
        .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
        .join('');
      await page.setContent(`<form method="post" action="${url.origin}${url.pathname}">${fields}</form>`);
      await Promise.all([
        page.waitForURL((next) => next.pathname.includes('/interaction/')),
        page.locator('form').evaluate((form) => (form as unknown as { submit(): void }).submit()),
      ]);
    } else {
      await page.goto(url.href);
    }
    await page.getByTestId('qr').locator('svg').waitFor({ state: 'visible' });
    return { codeVerifier, pkce: options.pkce !== false, state, nonce, context, page, landing };
  }

  /** A whole login: the wallet answers the QR code's request, or the same-device link's and comes back. */
  async function login(portal: Portal, options: LoginOptions = {}) {
    const started = await startLogin(portal, options);
    const { page } = started;
    const held = options.held ?? kit.held();
    if (options.sameDevice) {
      // The link leads (303) to the openid4vp:// request that opens the wallet on this device.
      const link = await page.request.get((await page.getByTestId('same-device').getAttribute('href'))!, { maxRedirects: 0 });
      expect(link.status()).toBe(303);
      const answered = await citizen.answer(link.headers()['location']!, held);
      expect(answered.status).toBe(200);
      // The wallet sends the browser back with the response code that releases the verdict.
      await page.goto(answered.body['redirect_uri'] as string).catch(() => undefined);
    } else {
      const answered = await citizen.answer((await page.getByTestId('qr').getAttribute('data-link'))!, held);
      expect(answered.status).toBe(200);
    }
    const callback = new URL((await started.landing).url());
    await started.context.close();
    return { ...started, callback };
  }

  async function exchange(portal: Portal, done: Awaited<ReturnType<typeof login>>) {
    const tokens = await oidc.authorizationCodeGrant(portal.config, done.callback, {
      pkceCodeVerifier: done.pkce ? done.codeVerifier : undefined,
      expectedState: done.state,
      expectedNonce: done.nonce,
      idTokenExpected: true,
    });
    return { tokens, claims: tokens.claims()! };
  }

  const basic = (portal: Portal) =>
    `Basic ${Buffer.from(`${encodeURIComponent(portal.clientId)}:${encodeURIComponent(portal.secret!)}`).toString('base64')}`;

  /** A form POST to a provider endpoint, as a portal's back-end makes it. */
  async function post(path: string, form: Record<string, string>, authorization?: string) {
    const response = await fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
      body: new URLSearchParams(form),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  /** GET /oidc/auth without a browser: the redirect (Location) or the error page's code. */
  async function authorize(query: Record<string, string>) {
    const response = await fetch(`${issuer}/auth?${new URLSearchParams(query)}`, { redirect: 'manual' });
    const html = response.status === 400 ? await response.text() : '';
    return {
      status: response.status,
      location: response.headers.get('location') ? new URL(response.headers.get('location')!, issuer) : undefined,
      pageError: /data-testid="error">([a-z_]+)</.exec(html)?.[1],
    };
  }

  /** A login the provider refuses after its checks: the browser goes straight back to the portal with an error. */
  async function startLoginExpectingError(portal: Portal, scope: string) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const landing = page.waitForRequest((request) => request.url().startsWith(`${portal.origin}/callback`));
    await page
      .goto(
        oidc.buildAuthorizationUrl(portal.config, {
          redirect_uri: `${portal.origin}/callback`,
          scope,
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
          state: 's2',
        }).href,
      )
      .catch(() => undefined);
    const url = new URL((await landing).url());
    await context.close();
    return url;
  }

  return { issuer, registerPortal, startLogin, login, exchange, basic, post, authorize, startLoginExpectingError };
}
