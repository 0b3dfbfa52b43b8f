import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/index.js';
import { StatusListFetcher } from './list-fetcher.js';
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
});
