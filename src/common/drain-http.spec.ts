import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainHttp } from './drain-http.js';

const get = (port: number) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('drainHttp', () => {
  it('lets a request under way finish, then refuses new connections', async () => {
    let answer!: () => void;
    const answering = new Promise<void>((resolve) => (answer = resolve));
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const server = createServer((_req, res) => {
      arrived();
      void answering.then(() => res.end('done'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const underWay = get(port);
    await reached;
    const draining = drainHttp(server, 5_000);
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);
    answer();
    expect(await underWay).toEqual({ status: 200, body: 'done' });
    await draining;
    expect(server.listening).toBe(false);
  });

  it('cuts what is still open at the deadline', async () => {
    const server = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hanging = get(port).catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await drainHttp(server, 100);
    expect(await hanging).toMatch(/socket hang up|ECONNRESET/);
  });
});
