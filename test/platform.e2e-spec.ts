import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { jest } from '@jest/globals';
import { runCli } from '../src/cli.js';
import { parseApiKey, SingleFlight } from '../src/common/index.js';
import { Database } from '../src/persistence/index.js';
import { HmacKeys } from '../src/keys/index.js';
import { holdNextCall } from './support/hold.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

/** HTTP platform: limits, timeouts, rate limits, security headers, CORS, one error shape, access log, signals. */
describe('HTTP platform', () => {
  let app: TestApp;
  const keyPrefix = `chancery-test:${randomBytes(6).toString('hex')}:`;
  const metricsToken = randomBytes(24).toString('base64url');
  const sigusr2Before = process.listenerCount('SIGUSR2');
  const sigtermBefore = process.listenerCount('SIGTERM');
  let logLines: string[] = [];
  const allLines: string[] = [];
  const stdoutWrite = process.stdout.write.bind(process.stdout);

  beforeAll(async () => {
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.startsWith('{')) {
        logLines.push(...text.split('\n').filter(Boolean));
        allLines.push(...text.split('\n').filter(Boolean));
        return true;
      }
      return stdoutWrite(chunk, ...rest);
    }) as never);
    app = await startTestApp({
      LOG_LEVEL: 'info',
      HTTP_REQUEST_TIMEOUT_MS: '400',
      REDIS_URL: 'redis://127.0.0.1:6379',
      RATE_LIMIT_KEY_PREFIX: keyPrefix,
      RATE_LIMIT_PER_MINUTE: '4',
      RATE_LIMIT_PER_RESOURCE_PER_MINUTE: '2',
      METRICS_TOKEN: metricsToken,
    });
  });

  afterAll(async () => {
    await app?.close();
    jest.restoreAllMocks();
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const raw = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(app.url + path, { method, body, headers });

  describe('resource limits', () => {
    it('closes a connection whose body trickles in slower than HTTP_REQUEST_TIMEOUT_MS', async () => {
      const url = new URL(app.url);
      const socket = connect(Number(url.port), url.hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /credentials/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      );
      // One byte at a time keeps the socket from ever being idle; only the request timeout can end it.
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('close', resolve));
      clearInterval(trickle);
      expect(socket.destroyed).toBe(true);
      if (received) expect(received).toMatch(/^HTTP\/1\.1 408/);
    });

    it('refuses an over-long path parameter with 414 in the problem shape', async () => {
      const response = await app.call('GET', `/1.0/identifiers/did:jwk:${'A'.repeat(5000)}`);
      expect(response.status).toBe(414);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('uri_too_long');
      // Whatever router the path reaches: the OpenID provider's has no limit of its own.
      for (const path of [`/oidc/interaction/${'a'.repeat(3000)}`, `/nowhere/${'b'.repeat(1025)}`])
        expect((await app.call('GET', path)).status).toBe(414);
      expect((await app.call('GET', `/nowhere/${'b'.repeat(1024)}`)).status).toBe(404);
    });
  });

  describe('rate limits (Redis)', () => {
    it("gives a portal's back-end 20 times the per-IP budget at the provider's token endpoint, the browser's routes not", async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const token: number[] = [];
      for (let i = 0; i < 8; i++)
        token.push((await raw('POST', '/oidc/token', 'grant_type=authorization_code&code=x', form)).status);
      expect(token).not.toContain(429);
      const auth: number[] = [];
      for (let i = 0; i < 5; i++) auth.push((await raw('GET', '/oidc/auth?client_id=x')).status);
      expect(auth.slice(0, 4)).not.toContain(429);
      expect(auth[4]).toBe(429);
    });

    it('answers 429 with Retry-After per client IP, as OAuth JSON on OAuth routes', async () => {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 5; i++) {
        last = await raw('POST', '/oid4vci/nonce');
        statuses.push(last.status);
      }
      expect(statuses.slice(0, 4).every((status) => status !== 429)).toBe(true);
      expect(statuses[4]).toBe(429);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last!.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await last!.json()).toEqual(expect.objectContaining({ error: 'invalid_request' }));
      // The counters live in Redis under this app's prefix.
      const redis = new Redis('redis://127.0.0.1:6379');
      const keys = await redis.keys(`${keyPrefix}ip:POST:/oid4vci/nonce:*`);
      redis.disconnect();
      expect(keys.length).toBe(1);
    });

    it("counts HEAD as the GET it is answered by: no way around a GET route's limit", async () => {
      // Fastify answers HEAD through the GET route's handler: the same work, so the same counters.
      const history = `/status/${randomUUID()}/revocation/history`;
      const heads: number[] = [];
      for (let i = 0; i < 5; i++) heads.push((await raw('HEAD', history)).status);
      expect(heads.slice(0, 4)).not.toContain(429);
      expect(heads[4]).toBe(429);
      expect((await raw('GET', history)).status).toBe(429);
      // Per resource as well: two HEADs of one joint-approval reference leave no GET of it.
      const reference = `/approvals/${randomUUID()}`;
      expect((await raw('HEAD', reference)).status).not.toBe(429);
      expect((await raw('HEAD', reference)).status).not.toBe(429);
      expect((await raw('GET', reference)).status).toBe(429);
    });

    it("limits a page's poll per request and token, and per address ten times wider (an office's browsers poll at once)", async () => {
      const desk = `/rp/requests/${randomUUID()}`;
      // One desk's polls: the per-request limit (2) counts them…
      expect((await raw('GET', `${desk}/verdict?view=x`)).status).not.toBe(429);
      expect((await raw('GET', `${desk}/verdict?view=x`)).status).not.toBe(429);
      expect((await raw('GET', `${desk}/verdict?view=x`)).status).toBe(429);
      // …by its view token too: whoever has only the id (it is in the QR code) cannot use up the desk's polls.
      expect((await raw('GET', `${desk}/verdict?view=y`)).status).not.toBe(429);
      // Forty polls from one address (10 × the per-address limit of 4), each of its own desk; the next is refused.
      const statuses: number[] = [];
      for (let i = 0; i < 36; i++) statuses.push((await raw('GET', `/rp/requests/${randomUUID()}/verdict?view=x`)).status);
      expect(statuses).not.toContain(429);
      expect((await raw('GET', `/rp/requests/${randomUUID()}/verdict?view=x`)).status).toBe(429);
    });

    it('limits the desk page and the records return per request and per address', async () => {
      const desk = `/rp/desk/${randomUUID()}`;
      expect((await raw('GET', `${desk}?view=x`)).status).not.toBe(429);
      expect((await raw('GET', `${desk}?view=x`)).status).not.toBe(429);
      expect((await raw('GET', `${desk}?view=x`)).status).toBe(429);
      // Another token of the same id counts apart; the address's fifth request is refused whatever the desk.
      expect((await raw('GET', `${desk}?view=y`)).status).not.toBe(429);
      expect((await raw('GET', `/rp/desk/${randomUUID()}?view=x`)).status).toBe(429);
      const lookup = `/citizens/records/return?request=${randomUUID()}&response_code=x`;
      expect((await raw('GET', lookup)).status).not.toBe(429);
      expect((await raw('GET', lookup)).status).not.toBe(429);
      expect((await raw('GET', lookup)).status).toBe(429);
    });

    it('answers 429 as problem details elsewhere', async () => {
      let last: Awaited<ReturnType<TestApp['call']>> | undefined;
      for (let i = 0; i < 5; i++)
        last = await app.call('GET', '/1.0/identifiers/did:ethr:govchain:0x0000000000000000000000000000000000000001');
      expect(last!.status).toBe(429);
      expect(last!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(last!.body.code).toBe('rate_limited');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('limits each offer on its own, below the per-IP limit', async () => {
      const first = await app.call('GET', '/oid4vci/offers/offer-a');
      const second = await app.call('GET', '/oid4vci/offers/offer-a');
      const third = await app.call('GET', '/oid4vci/offers/offer-a');
      expect([first.status, second.status]).not.toContain(429);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBeTruthy();
      const other = await app.call('GET', '/oid4vci/offers/offer-b');
      expect(other.status).not.toBe(429);
    });
  });

  describe('security headers and CORS', () => {
    it('sends CSP with a per-response nonce, frame-ancestors none, nosniff and a referrer policy on pages', async () => {
      const first = await raw('GET', '/docs');
      const second = await raw('GET', '/docs');
      expect(first.status).toBe(200);
      const csp = first.headers.get('content-security-policy')!;
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+'/);
      expect(csp).not.toEqual(second.headers.get('content-security-policy'));
      expect(first.headers.get('x-content-type-options')).toBe('nosniff');
      expect(first.headers.get('referrer-policy')).toBe('no-referrer');
      expect(first.headers.get('x-frame-options')).toBe('DENY');
      // A nonce in style-src would make browsers ignore 'unsafe-inline' and block the pages' inline styles.
      expect(csp).toMatch(/style-src 'self' 'unsafe-inline'(;|$)/);
    });

    it('sends the same security headers on API answers and errors, without a script nonce', async () => {
      for (const response of [
        await raw('GET', '/health'),
        await raw('GET', '/no-such-route'),
        await raw('POST', '/credentials/issue', '{'),
      ]) {
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('x-frame-options')).toBe('DENY');
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
        expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';script-src 'self';/);
        expect(response.headers.get('strict-transport-security')).toBeNull();
        expect(response.headers.get('x-powered-by')).toBeNull();
      }
    });

    it('allows any origin, without credentials, on wallet-facing endpoints, with preflight', async () => {
      const metadata = await raw('GET', '/.well-known/openid-credential-issuer', undefined, { origin: 'https://wallet.example' });
      expect(metadata.headers.get('access-control-allow-origin')).toBe('*');
      expect(metadata.headers.get('access-control-allow-credentials')).toBeNull();

      const preflight = await raw('OPTIONS', '/oid4vci/credential', undefined, {
        origin: 'https://wallet.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, dpop, content-type',
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('dpop');
      // A browser verifier revalidating a status list sends If-None-Match and reads the ETag.
      const conditional = await raw('OPTIONS', '/status/any-list/revocation', undefined, {
        origin: 'https://verifier.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match',
      });
      expect(conditional.status).toBe(204);
      expect(conditional.headers.get('access-control-allow-headers')).toContain('if-none-match');
      expect(conditional.headers.get('access-control-expose-headers')).toContain('etag');

      // Errors on those endpoints carry the header too, so a browser wallet can read them.
      const error = await raw('POST', '/oid4vci/credential', '{}', {
        origin: 'https://wallet.example',
        'content-type': 'application/json',
      });
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(error.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('sends no CORS headers anywhere else, and refuses their preflight', async () => {
      const operator = await app.call('GET', '/operator/agencies', {
        headers: { origin: 'https://evil.example' },
        token: app.operatorApiKey,
      });
      expect(operator.status).toBe(200);
      expect(operator.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await raw('OPTIONS', '/operator/agencies', undefined, {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
      });
      expect(preflight.status).toBeGreaterThanOrEqual(400);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('one error shape', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    it.each([
      ['a JSON array', '[1,2,3]', { 'content-type': 'application/json' }, 400],
      ['a JSON string', '"text"', { 'content-type': 'application/json' }, 400],
      ['malformed JSON', '{"client_id":', { 'content-type': 'application/json' }, 400],
      ['a text body', 'client_id=x', { 'content-type': 'text/plain' }, 415],
      ['a repeated form key', 'client_id=a&client_id=b&response_type=code', form, 400],
      ['a __proto__ form key', '__proto__=x&client_id=a', form, 400],
    ])('answers PAR with %s as OAuth error JSON, not 5xx', async (_label, body, headers, status) => {
      const response = await raw('POST', '/oid4vci/par', body, headers);
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const json = (await response.json()) as { error: string; error_description?: string };
      expect(json.error).toBe('invalid_request');
      expect(json.error_description ?? '').not.toMatch(/Unexpected|position|FST_/);
    });

    it('passes a well-formed form body through to the handler', async () => {
      const response = await raw(
        'POST',
        '/oid4vci/token',
        'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=unknown',
        form,
      );
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
    });

    it('answers a repeated token parameter as invalid_request', async () => {
      const response = await raw(
        'POST',
        '/oid4vci/token',
        'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=a&pre-authorized_code=b',
        form,
      );
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    });

    it('answers Fastify and router errors as problem details elsewhere', async () => {
      const badEncoding = await app.call('GET', '/1.0/identifiers/%E0%A4%A');
      expect(badEncoding.status).toBe(400);
      expect(badEncoding.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(badEncoding.body.code).toBe('invalid_request');

      const unknown = await app.call('GET', '/no/such/route');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('not_found');
      // A path that exists, with a method it does not take: 405 naming those it takes (RFC 9110 §15.5.6).
      for (const [method, path, allow] of [
        ['PUT', '/credentials/issue', 'POST'],
        ['DELETE', '/credentials/verify?x=1', 'POST'],
        ['POST', '/health', 'GET, HEAD'],
      ] as const) {
        const wrong = await app.call(method, path);
        expect({ path, status: wrong.status, allow: wrong.headers.get('allow') }).toEqual({ path, status: 405, allow });
        expect(wrong.body.code).toBe('method_not_allowed');
      }
      // An empty last segment names no resource, for any method: 404, not a 405 whose Allow names a method that
      // answers 404 itself.
      for (const [method, path] of [
        ['GET', '/vct/'],
        ['HEAD', '/vct/'],
        ['POST', '/vct/'],
        ['DELETE', '/rp/requests/'],
        ['GET', '/rp/requests/'],
        ['GET', '/status//'],
      ] as const) {
        const empty = await app.call(method, path);
        expect({ method, path, status: empty.status, allow: empty.headers.get('allow') }).toEqual({
          method,
          path,
          status: 404,
          allow: null,
        });
      }
      // Under the provider's wildcard route no path's methods are known: 404 as before.
      const provider = await app.call('PUT', '/oidc/token');
      expect({ status: provider.status, allow: provider.headers.get('allow') }).toEqual({ status: 404, allow: null });
      const oauth = await app.call('GET', '/oid4vci/token');
      expect({ status: oauth.status, allow: oauth.headers.get('allow') }).toEqual({ status: 405, allow: 'POST' });
      expect(oauth.body.error).toBe('invalid_request');

      const malformed = await app.call('POST', '/credentials/verify', { body: '{"credential":' });
      expect(malformed.status).toBe(400);
      expect(malformed.body.code).toBe('invalid_request');
      expect(JSON.stringify(malformed.body)).not.toMatch(/Unexpected|position/);

      const wrongType = await app.call('POST', '/credentials/verify', {
        body: 'x',
        headers: { 'content-type': 'application/xml' },
      });
      expect(wrongType.status).toBe(415);
      expect(wrongType.body.code).toBe('unsupported_media_type');

      // A body in a content coding no route decodes is refused, not parsed as if plain (RFC 9110 §8.4.1).
      const encoded = await app.call('POST', '/credentials/verify', { body: '{}', headers: { 'content-encoding': 'gzip' } });
      expect(encoded.status).toBe(415);
      expect(encoded.body.code).toBe('unsupported_media_type');
      const oauthEncoded = await app.call('POST', '/oid4vci/token', {
        body: 'grant_type=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'br' },
      });
      expect(oauthEncoded.status).toBe(415);
      expect(oauthEncoded.body.error).toBe('invalid_request');
      const identity = await app.call('POST', '/credentials/verify', {
        body: '{}',
        headers: { 'content-encoding': 'identity, Identity' },
      });
      expect(identity.status).toBe(400);
      // Without content there is nothing to decode.
      expect((await app.call('GET', '/health', { headers: { 'content-encoding': 'gzip' } })).status).toBe(200);

      const repeated = await app.call('POST', '/credentials/verify', { body: '{"credential":"a","credential":"b"}' });
      expect(repeated.status).toBe(400);
      expect(repeated.body.code).toBe('invalid_request');

      const deep = await app.call('POST', '/credentials/verify', { body: '['.repeat(200) + ']'.repeat(200) });
      expect(deep.status).toBe(400);
      expect(deep.body.code).toBe('invalid_request');
    });

    it('refuses a fragment in the request target with 400 (no router may read the path otherwise than the limits do)', async () => {
      // fetch drops fragments: a raw request, as an attacker would send it.
      const url = new URL(app.url);
      for (const target of ['/oidc/token#x', '/credentials/verify#x', '/health#']) {
        const socket = connect(Number(url.port), url.hostname);
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        );
        await new Promise((resolve) => socket.once('close', resolve));
        expect({ target, status: received.split('\r\n')[0] }).toEqual({ target, status: 'HTTP/1.1 400 Bad Request' });
        expect(received).toMatch(/content-type: application\/problem\+json/i);
        expect(received).toContain('"code":"invalid_request"');
      }
    });

    it("answers what Node's HTTP parser refuses with a problem document too: bad request lines, huge headers, no Host", async () => {
      const url = new URL(app.url);
      const raw = async (request: string) => {
        const socket = connect(Number(url.port), url.hostname);
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(request);
        await new Promise((resolve) => socket.once('close', resolve));
        return received;
      };
      for (const [request, status, code] of [
        [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'header_fields_too_large'],
        ['GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'invalid_request'],
        ['FOO /health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_request'],
        ['GET /health HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'invalid_request'],
        [
          'POST /credentials/verify HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
          417,
          'expectation_failed',
        ],
      ] as const) {
        const received = await raw(request);
        expect({ request: request.slice(0, 40), status: received.split('\r\n')[0] }).toEqual({
          request: request.slice(0, 40),
          status: expect.stringMatching(new RegExp(`^HTTP/1.1 ${status} `)),
        });
        expect(received).toMatch(/content-type: application\/problem\+json/i);
        expect(received).toContain(`"code":"${code}"`);
      }
      // Expect: 100-continue still gets its interim response, then the answer.
      const continued = await raw(
        'POST /credentials/verify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n' +
          'Content-Length: 2\r\nConnection: close\r\n\r\n{}',
      );
      expect(continued).toMatch(/^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 400 /);
      // HTTP/1.0 has no Host requirement.
      expect((await raw('GET /health HTTP/1.0\r\n\r\n')).split('\r\n')[0]).toMatch(/^HTTP\/1.1 (200|503) /);
    });

    it('refuses a NUL character in the URL or the body with 400, never a database error', async () => {
      for (const path of ['/status/a%00b/revocation', '/oid4vp/requests/a%00b', '/operator/agencies/a%00b']) {
        const reply = await app.operator('GET', path);
        expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      }
      const json = await app.operator('POST', '/operator/agencies', { slug: 'nul-agency', name: 'a\u0000b' });
      expect(json.status).toBe(400);
      expect(json.body.code).toBe('invalid_request');
      // After an escaped backslash (even a run of them) the text is the characters \u0000, not a NUL.
      const odd = await app.operator('POST', '/operator/agencies', '{"slug":"nul-agency","name":"\\\\\\u0000"}');
      expect(odd.status).toBe(400);
      const text = await app.operator('POST', '/operator/agencies', '{"slug":"nul-text","name":"a\\\\u0000 \\\\\\\\u0000"}');
      expect(text.status).toBe(201);
      expect(text.body.agency.name).toBe('a\\u0000 \\\\u0000');
      const form = await app.call('POST', '/oid4vci/par', {
        body: 'client_id=wallet%00&response_type=code',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(400);
      expect(form.body.error).toBe('invalid_request');
    });

    it('answers two requests racing to create the same agency with one 201 and 409s, never 500', async () => {
      const replies = await Promise.all(
        Array.from({ length: 4 }, () => app.operator('POST', '/operator/agencies', { slug: 'race-agency', name: 'Race' })),
      );
      const statuses = replies.map((reply) => reply.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409]);
    });

    it('renders OAuth JSON on the offer-by-reference and .well-known routes', async () => {
      const wellKnown = await raw('GET', '/.well-known/nothing-here');
      expect(wellKnown.status).toBe(404);
      expect(((await wellKnown.json()) as { error: string }).error).toBe('invalid_request');
    });
  });

  describe('operations', () => {
    it('writes one access-log line per request with the route template and key prefix, never the key or body', async () => {
      logLines = [];
      const created = await app.operator('POST', '/operator/agencies', { slug: 'logged', name: 'Logged agency' });
      expect(created.status).toBe(201);
      const secret = 'do-not-log-this-body-marker';
      const agencyKey = created.body.apiKey as string;
      const agencyCall = await app.call('GET', '/agency', { token: agencyKey, headers: { 'x-marker': secret } });
      expect(agencyCall.status).toBe(200);
      const shown = await app.operator('GET', `/operator/agencies/${created.body.agency.id}`);
      expect(shown.status).toBe(200);
      const wrongKey = `chy_${'a'.repeat(12)}_${'wrongsecret'.padEnd(43, 'b')}`;
      const denied = await app.call('POST', '/credentials/issue', { token: wrongKey, body: { secret } });
      expect(denied.status).toBe(401);

      const access = await eventually(async () => {
        const lines = logLines
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => line['event'] === 'access');
        return lines.length >= 4 ? lines : undefined;
      });
      const byRoute = (route: string) => access.filter((line) => line['route'] === route);
      expect(byRoute('/operator/agencies')).toHaveLength(1);
      expect(byRoute('/operator/agencies/:id')).toEqual([
        expect.objectContaining({ method: 'GET', status: 200, key: 'operator', ms: expect.any(Number) }),
      ]);
      expect(byRoute('/agency')).toEqual([expect.objectContaining({ key: parseApiKey(agencyKey)!.prefix, status: 200 })]);
      expect(byRoute('/credentials/issue')).toEqual([expect.objectContaining({ key: 'a'.repeat(12), status: 401 })]);
      const everything = logLines.join('\n');
      expect(everything).not.toContain(app.operatorApiKey);
      expect(everything).not.toContain(agencyKey);
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain('wrongsecret');
    });

    it('revokes an agency API key by prefix, refused at once, also from the CLI', async () => {
      const created = await app.operator('POST', '/operator/agencies', { slug: 'revoking', name: 'Revoking agency' });
      const id = created.body.agency.id as string;
      const first = created.body.apiKey as string;
      const second = (await app.operator('POST', `/operator/agencies/${id}/api-keys`, { label: 'second' })).body.apiKey as string;
      expect((await app.call('GET', '/agency', { token: first })).status).toBe(200);

      const revoked = await app.operator('DELETE', `/operator/agencies/${id}/api-keys/${parseApiKey(first)!.prefix}`);
      expect(revoked.status).toBe(204);
      const refused = await app.call('GET', '/agency', { token: first });
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('unauthorized');
      expect((await app.call('GET', '/agency', { token: second })).status).toBe(200);

      const again = await app.operator('DELETE', `/operator/agencies/${id}/api-keys/${parseApiKey(first)!.prefix}`);
      expect(again.status).toBe(404);
      const notOperator = await app.call('DELETE', `/operator/agencies/${id}/api-keys/${parseApiKey(second)!.prefix}`, {
        token: second,
      });
      expect(notOperator.status).toBe(401);

      const env = { CHANCERY_URL: app.url, OPERATOR_API_KEY: app.operatorApiKey };
      expect((await runCli(['apikey:revoke', 'revoking', second], env)).ok).toBe(true);
      expect((await app.call('GET', '/agency', { token: second })).status).toBe(401);
    });

    it('puts /metrics behind METRICS_TOKEN', async () => {
      expect((await app.call('GET', '/metrics')).status).toBe(401);
      expect((await app.call('GET', '/metrics', { token: 'x'.repeat(32) })).status).toBe(401);
      const allowed = await raw('GET', '/metrics', undefined, { authorization: `Bearer ${metricsToken}` });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('chancery_outbox_entries');
    });

    it('leaves signals to the entry point: SIGUSR2 does not shut the service down, SIGTERM drains it (main.ts)', () => {
      // startApp registers none: a second handler (Nest's) closed the modules, then every socket, under requests
      // still running; main.ts stops on SIGTERM and SIGINT through close(), which drains HTTP first.
      expect(process.listenerCount('SIGUSR2')).toBe(sigusr2Before);
      expect(process.listenerCount('SIGTERM')).toBe(sigtermBefore);
      expect(readFileSync('src/main.ts', 'utf8')).toMatch(/stopOnSignals\(running\)/);
    });

    it('keeps the data directory 0700 and the SQLite files 0600', () => {
      if (app.dbKind !== 'sqlite') return expect(app.config.database.kind).toBe('postgres');
      expect(statSync(app.config.dataDir).mode & 0o777).toBe(0o700);
      const path = (app.config.database as { path: string }).path;
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(existsSync(`${path}-wal`)).toBe(true);
      expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(path)).mode & 0o077).toBe(0);
    });
  });

  it('shares one check of the database and chain among health probes that arrive at once', async () => {
    const asked = jest.spyOn(SingleFlight.prototype, 'run');
    // The database's ping: only a health check sends it (the chain client is polled by others too).
    const held = holdNextCall(app.app.get(Database), 'ping');
    try {
      const probes = Promise.all(Array.from({ length: 6 }, () => fetch(app.url + '/health')));
      await held.reached;
      await eventually(async () => (asked.mock.calls.filter(([key]) => key === 'health').length >= 6 ? true : undefined));
      held.release();
      expect((await probes).map((response) => response.status)).toEqual(Array(6).fill(200));
      expect(held.spy).toHaveBeenCalledTimes(1);
      // Nothing is kept: the next probe checks again.
      expect((await fetch(app.url + '/health')).status).toBe(200);
      expect(held.spy).toHaveBeenCalledTimes(2);
    } finally {
      held.release();
      held.spy.mockRestore();
      asked.mockRestore();
    }
  });

  describe('database outage (PostgreSQL)', () => {
    it('answers 503 database_unavailable with Retry-After, logs one line per state change, then recovers', async () => {
      if (app.dbKind !== 'postgres') return expect(app.dbKind).toBe('sqlite');
      const dbName = new URL((app.config.database as { url: string }).url).pathname.slice(1);
      // Earlier tests used up the rate limits of the routes used here: start with fresh counters.
      const redis = new Redis('redis://127.0.0.1:6379');
      const counters = await redis.keys(`${keyPrefix}*`);
      if (counters.length > 0) await redis.del(...counters);
      redis.disconnect();
      // A credential of ours, to verify while its status list (read from our database) cannot be read.
      const issuer = await createActiveAgency(app, 'outage-dmv', 'Outage DMV', ['driving-licence']);
      const issued = await app.call('POST', '/credentials/issue', {
        token: issuer.apiKey,
        body: {
          credential: { type: ['VerifiableCredential', 'DrivingLicenceCredential'], credentialSubject: DRIVING_LICENCE_CLAIMS },
          options: { format: 'dc+sd-jwt' },
        },
      });
      expect(issued.status).toBe(201);
      expect(
        (await app.call('POST', '/credentials/verify', { body: { verifiableCredential: issued.body.credential } })).status,
      ).toBe(200);
      // A well-formed offer reference (id and its MAC), made while the database answers: during the outage the
      // offer endpoint gets past the MAC and must read the offer.
      const unknownOffer = '00000000-0000-4000-8000-000000000000';
      const mac = await app.app.get(HmacKeys).hmacSha256('offer-reference', `offer:${unknownOffer}`);
      const admin = new pg.Client({
        connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      });
      await admin.connect();
      try {
        logLines = [];
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [dbName],
        );
        const answers = [];
        for (let i = 0; i < 3; i++) answers.push(await app.operator('GET', '/operator/agencies'));
        for (const answer of answers) {
          expect(answer.status).toBe(503);
          expect(answer.body.code).toBe('database_unavailable');
          expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
        }
        // /health says what is down in its own words, not the driver's (user, hosts, database name) to anyone.
        const health = await raw('GET', '/health');
        expect(health.status).toBe(503);
        const healthBody = (await health.json()) as { error: Record<string, unknown> };
        expect(healthBody.error['database']).toMatchObject({ status: 'down', message: 'the database could not be reached' });
        expect(JSON.stringify(healthBody)).not.toMatch(/5432|ECONN|accepting connections|postgres|chancery/i);
        // An OAuth route (offer by reference) answers RFC 6749 JSON.
        const oauth = await raw('GET', `/oid4vci/offers/${unknownOffer}.${mac.toString('base64url')}`);
        expect(oauth.status).toBe(503);
        expect(oauth.headers.get('retry-after')).toBeTruthy();
        expect(((await oauth.json()) as { error: string }).error).toBe('temporarily_unavailable');
        const token = await raw(
          'POST',
          '/oid4vci/token',
          'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=abc',
          { 'content-type': 'application/x-www-form-urlencoded' },
        );
        expect(token.status).toBe(503);
        expect(((await token.json()) as { error: string }).error).toBe('temporarily_unavailable');
        // The OpenID Provider (its own Koa stack, past Nest's filter) likewise: a portal's token request, whose client
        // is read from the database.
        const portalToken = await raw(
          'POST',
          '/oidc/token',
          `grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fportal.example%2Fcb&client_id=${unknownOffer}`,
          { 'content-type': 'application/x-www-form-urlencoded' },
        );
        expect(portalToken.status).toBe(503);
        expect(Number(portalToken.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await portalToken.json()).toEqual({
          error: 'temporarily_unavailable',
          error_description: 'The service is temporarily unavailable; retry later',
        });
        // A verification whose status check could not be made is no verdict on the credential: 503, and nothing of
        // the database (its address) in the answer.
        const verified = await app.call('POST', '/credentials/verify', {
          body: { verifiableCredential: issued.body.credential },
        });
        expect(verified.status).toBe(503);
        expect(verified.headers.get('retry-after')).toBeTruthy();
        expect(verified.body.checks).toContainEqual({ check: 'status', passed: false, reason: 'unavailable' });
        expect(JSON.stringify(verified.body)).not.toMatch(/5432|ECONN|accepting connections/);
      } finally {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      await eventually(async () => ((await app.operator('GET', '/operator/agencies')).status === 200 ? true : undefined));
      await eventually(async () => (logLines.some((line) => line.includes('"database_up"')) ? true : undefined));
      const events = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(events.filter((line) => line['event'] === 'database_down')).toHaveLength(1);
      // Nothing else (such as the client that aborted its slow body above) read as a database outage.
      expect(allLines.filter((line) => line.includes('"database_down"'))).toHaveLength(1);
      expect(events.filter((line) => line['event'] === 'database_up')).toHaveLength(1);
      // Requests do not log a stack each (background workers are another matter).
      expect(events.filter((line) => line['context'] === 'ProblemFilter')).toEqual([]);
      expect(events.filter((line) => line['context'] === 'OpenIdProvider')).toEqual([]);
    });

    it('starts a replica while the database refuses connections: it waits, then serves', async () => {
      if (app.dbKind !== 'postgres') return expect(app.dbKind).toBe('sqlite');
      const dbName = new URL((app.config.database as { url: string }).url).pathname.slice(1);
      const admin = new pg.Client({
        connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      });
      await admin.connect();
      let replica: TestApp | undefined;
      try {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        const starting = startTestApp({}, { replicaOf: app });
        starting.catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
        replica = await starting;
        expect((await replica.operator('GET', '/operator/agencies')).status).toBe(200);
      } finally {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
        await admin.end();
        await replica?.close();
      }
    });
  });
});

describe('HTTP platform with a connection cap and /docs closed', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ HTTP_MAX_CONNECTIONS: '2', DOCS_ENABLED: 'false' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('closes connections beyond HTTP_MAX_CONNECTIONS and serves again once below', async () => {
    const url = new URL(app.url);
    const open = async () => {
      const socket = connect(Number(url.port), url.hostname);
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    const held = [await open(), await open()];
    // Let the server register both before the third arrives.
    for (const socket of held) {
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => socket.once('data', resolve));
    }
    const third = await open();
    await new Promise((resolve) => third.once('close', resolve));
    expect(third.destroyed).toBe(true);
    for (const socket of held) socket.destroy();
    await eventually(async () => {
      const response = await fetch(app.url + '/health').catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    });
  });

  it('does not serve /docs when DOCS_ENABLED=false', async () => {
    expect((await app.call('GET', '/docs')).status).toBe(404);
    expect((await app.call('GET', '/docs/openapi.json')).status).toBe(404);
  });
});
