import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundedGet, BoundedGetTimeout } from './bounded-get.js';
import { NotPublicAddress } from './public-address.js';

describe('boundedGet: one GET to a host someone else named', () => {
  let server: Server;
  let base: string;
  let asked = 0;
  let closedEndless = false;
  beforeAll(async () => {
    server = createServer((request, response) => {
      asked++;
      if (request.url === '/big') return void response.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      if (request.url === '/streamed') {
        response.writeHead(200);
        for (let i = 0; i < 10; i++) response.write('y'.repeat(1000));
        return void response.end();
      }
      if (request.url === '/slow') return; // never answers
      if (request.url === '/endless-error') {
        // An error whose body never ends: the client must not keep the socket.
        response.writeHead(500);
        const timer = setInterval(() => response.write('x'), 10);
        request.socket.on('close', () => {
          clearInterval(timer);
          closedEndless = true;
        });
        return;
      }
      if (request.url === '/moved') return void response.writeHead(302, { location: '/ok' }).end('moved');
      response.writeHead(200, { 'content-type': 'text/plain', etag: '"e"' }).end(`ok ${request.headers['x-asked'] ?? ''}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const options = { headers: { 'x-asked': 'me' }, timeoutMs: 2_000, maxBytes: 2_000, privateHostAllowed: true };

  it('returns a 200 body with its headers, and another status without reading its body or following it', async () => {
    const ok = await boundedGet(new URL(`${base}/ok`), options);
    expect(ok).toMatchObject({ status: 200, tooLarge: false });
    expect(ok.body?.toString()).toBe('ok me');
    expect(ok.headers.etag).toBe('"e"');
    expect(await boundedGet(new URL(`${base}/moved`), options)).toMatchObject({ status: 302, body: undefined });
  });

  it('closes the connection of an answer that is not a 200 at once, even one whose body never ends', async () => {
    expect(await boundedGet(new URL(`${base}/endless-error`), options)).toMatchObject({ status: 500, body: undefined });
    for (let i = 0; i < 100 && !closedEndless; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closedEndless).toBe(true);
  });

  it('stops at maxBytes, whether the length is announced or streamed', async () => {
    for (const path of ['/big', '/streamed'])
      expect(await boundedGet(new URL(base + path), options)).toMatchObject({ status: 200, body: undefined, tooLarge: true });
  });

  it('gives up after timeoutMs', async () => {
    await expect(boundedGet(new URL(`${base}/slow`), { ...options, timeoutMs: 200 })).rejects.toBeInstanceOf(BoundedGetTimeout);
  });

  it('connects to no private address unless allowed: literals (IPv4, IPv6, mapped) before connecting, names at the lookup', async () => {
    asked = 0;
    const port = new URL(base).port;
    const refused = { ...options, privateHostAllowed: false };
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '10.0.0.1', '169.254.169.254'])
      await expect(boundedGet(new URL(`http://${host}:${port}/ok`), refused)).rejects.toBeInstanceOf(NotPublicAddress);
    await expect(boundedGet(new URL(`http://localhost:${port}/ok`), refused)).rejects.toMatchObject({ code: 'ENOTPUBLIC' });
    expect(asked).toBe(0);
  });
});
