import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { client } from './load.js';

/** A node:http server answering each request with its handler; returns its URL. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo?x=1` };
}

describe('the load generator client', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends each body with its headers over at most `concurrency` keep-alive connections and reads the answers', async () => {
    const sockets = new Set<unknown>();
    ({ server } = await serve((request, response) => {
      sockets.add(request.socket);
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.stringify({
          url: request.url,
          type: request.headers['content-type'],
          body: Buffer.concat(chunks).toString(),
        });
        // Big enough to arrive in several chunks.
        const padded = Buffer.from(body + ' '.repeat(200_000));
        response.writeHead(201, { 'content-type': 'application/json', 'content-length': padded.length }).end(padded);
      });
    }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo?x=1`;
    const { send, close } = client({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      bodies: ['{"n":0}', '{"n":"ü"}'],
      concurrency: 3,
    });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));
    close();
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(201));
    expect(answers.map((answer) => JSON.parse(answer.text) as unknown)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({
        url: '/echo?x=1',
        type: 'application/json',
        body: i % 2 ? '{"n":"ü"}' : '{"n":0}',
      })),
    );
    expect(sockets.size).toBe(3);
  });

  it('opens a new connection after the service closes one, and fails a response it cannot read', async () => {
    let requests = 0;
    ({ server } = await serve((_request, response) => {
      requests++;
      if (requests === 1) response.writeHead(200, { connection: 'close', 'content-length': '2' }).end('ok');
      else if (requests === 2) response.writeHead(200).end('no length: chunked');
      else response.writeHead(204).end();
    }));
    const { send, close } = client({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      method: 'GET',
      headers: {},
      bodies: [],
      concurrency: 1,
    });
    await expect(send(0)).resolves.toEqual({ status: 200, text: 'ok' });
    await expect(send(1)).rejects.toThrow('a response without Content-Length');
    await expect(send(2)).resolves.toEqual({ status: 204, text: '' });
    close();
  });
});
