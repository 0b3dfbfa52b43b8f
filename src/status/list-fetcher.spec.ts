import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/index.js';
import { remoteListFreshMs, StatusListFetcher } from './list-fetcher.js';
import { StatusListUnreachable } from './status-checker.js';
import type { StatusService } from './status.service.js';

const LIST = 'eyJhbGciOiJFUzI1NiJ9.eyJzdGF0dXNfbGlzdCI6e319.c2lnbmF0dXJl';

/** Another issuer's status list endpoint: answers with `status`, records what it was asked. */
function issuerEndpoint() {
  const asked: IncomingHttpHeaders[] = [];
  let status = 200;
  const server: Server = createServer((request, response) => {
    asked.push(request.headers);
    if (request.headers['if-none-match'] === '"v1"') {
      response.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=0' }).end();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/statuslist+jwt', etag: '"v1"', 'cache-control': 'max-age=0' });
    response.end(status === 200 ? LIST : 'unavailable');
  });
  return {
    asked,
    answerWith: (next: number) => (status = next),
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/lists/1`)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('StatusListFetcher, other issuers’ lists', () => {
  const endpoint = issuerEndpoint();
  let url: string;
  // Our own lists are read through StatusService; these URLs are another issuer's, so it is never asked.
  const fetcher = new StatusListFetcher(undefined as unknown as StatusService, loadConfig({}));

  beforeAll(async () => {
    url = await endpoint.listen();
  });
  afterAll(() => endpoint.close());

  it('sends one request for the verifications that need a list at the same time', async () => {
    const bodies = await Promise.all(Array.from({ length: 10 }, () => fetcher.fetch(url)));
    expect(bodies).toEqual(Array(10).fill(LIST));
    expect(endpoint.asked).toHaveLength(1);

    // Stale at once (max-age=0): the next burst revalidates, again with one request.
    const again = await Promise.all(Array.from({ length: 5 }, () => fetcher.fetch(url)));
    expect(again).toEqual(Array(5).fill(LIST));
    expect(endpoint.asked).toHaveLength(2);
    expect(endpoint.asked[1]!['if-none-match']).toBe('"v1"');
  });

  it('hands a failed request to every caller that shared it, and tries again on the next call', async () => {
    const other = `${url}-other`;
    endpoint.asked.length = 0;
    endpoint.answerWith(503);
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => fetcher.fetch(other)));
    expect(outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).message : 'fulfilled'))).toEqual(
      Array(4).fill('HTTP 503'),
    );
    expect(endpoint.asked).toHaveLength(1);

    endpoint.answerWith(200);
    expect(await fetcher.fetch(other)).toBe(LIST);
    expect(endpoint.asked).toHaveLength(2);
  });

  it('connects only to public hosts unless the host is listed, and says the same for a refused and an unknown name', async () => {
    const config = loadConfig({});
    const restricted = (remotePrivateHosts: string[]) =>
      new StatusListFetcher(undefined as unknown as StatusService, {
        ...config,
        status: { ...config.status, remotePrivateHosts },
      });
    endpoint.asked.length = 0;
    const port = new URL(url).port;
    for (const refused of [url, `http://localhost:${port}/lists/1`, `http://[::ffff:127.0.0.1]:${port}/lists/1`])
      await expect(restricted([]).fetch(refused)).rejects.toThrow(/^status list host is unknown or not public$/);
    await expect(restricted([]).fetch('http://no-such-host.invalid/lists/1')).rejects.toThrow(
      /^status list host is unknown or not public$/,
    );
    expect(endpoint.asked).toHaveLength(0);
    expect(await restricted(['127.0.0.1']).fetch(url)).toBe(LIST);
    expect(endpoint.asked).toHaveLength(1);
    // A listed IPv6 address (without its URL brackets) is allowed: connected to (nothing listens there), not refused.
    await expect(restricted(['::1']).fetch(`http://[::1]:${port}/lists/1`)).rejects.toBeInstanceOf(StatusListUnreachable);
  });

  it('reports a host that cannot be reached as unreachable (no answer about the credential), not as a wrong list', async () => {
    const closed = createServer();
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
    );
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(fetcher.fetch(`http://127.0.0.1:${port}/lists/1`)).rejects.toBeInstanceOf(StatusListUnreachable);
  });
});

describe('remoteListFreshMs: how long another issuer’s list is reused', () => {
  const jws = (claims: Record<string, unknown>) =>
    `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
  const now = 1_800_000_000_000;

  it('prefers the token’s ttl (seconds) to the server’s max-age, either way', () => {
    expect(remoteListFreshMs(jws({ ttl: 300 }), 86_400, now)).toBe(300_000);
    expect(remoteListFreshMs(jws({ ttl: 3_600 }), 0, now)).toBe(3_600_000);
  });

  it('reads a Bitstring list credential’s ttl in milliseconds', () => {
    expect(remoteListFreshMs(jws({ credentialSubject: { ttl: 60_000 } }), 86_400, now)).toBe(60_000);
  });

  it('follows max-age without a ttl, and never reuses a list past its exp or validUntil', () => {
    expect(remoteListFreshMs(jws({}), 120, now)).toBe(120_000);
    expect(remoteListFreshMs(jws({ ttl: 3_600, exp: now / 1000 + 10 }), 86_400, now)).toBe(10_000);
    expect(remoteListFreshMs(jws({ validUntil: new Date(now + 5_000).toISOString() }), 86_400, now)).toBe(5_000);
    expect(remoteListFreshMs(jws({ exp: now / 1000 - 10 }), 86_400, now)).toBe(0);
  });

  it('reads a JSON (Data Integrity) list credential as well as a JWS', () => {
    const list = { credentialSubject: { ttl: 45_000 }, validUntil: new Date(now + 20_000).toISOString() };
    expect(remoteListFreshMs(JSON.stringify(list), 86_400, now)).toBe(20_000);
    expect(remoteListFreshMs(JSON.stringify({ credentialSubject: { ttl: 45_000 } }), 86_400, now)).toBe(45_000);
  });

  it('caps what the list or its server asks for at a day, and ignores a ttl that is no positive number', () => {
    expect(remoteListFreshMs(jws({ ttl: 10 * 86_400 }), 0, now)).toBe(86_400_000);
    expect(remoteListFreshMs(jws({ ttl: -5 }), 30, now)).toBe(30_000);
    expect(remoteListFreshMs(jws({ ttl: '300' }), 30, now)).toBe(30_000);
    expect(remoteListFreshMs('not a jws', 30, now)).toBe(30_000);
  });
});
