import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { postWebhook, resolvePublicAddresses, webhookUrlProblem } from './webhook.js';

const strict = { production: false, allowLoopback: false };
const production = { production: true, allowLoopback: false };
const tests = { production: false, allowLoopback: true };

describe('webhook targets (SSRF)', () => {
  it('checks URLs at registration: https in production, no credentials, no private literal or localhost', () => {
    expect(webhookUrlProblem('https://bank.example/hook', production)).toBeUndefined();
    expect(webhookUrlProblem('http://bank.example/hook', production)).toBe('must be an https URL');
    expect(webhookUrlProblem('http://bank.example/hook', strict)).toBeUndefined();
    expect(webhookUrlProblem('ftp://bank.example/hook', strict)).toBeDefined();
    expect(webhookUrlProblem('https://user:pw@bank.example/hook', production)).toBe('must not carry credentials');
    expect(webhookUrlProblem('https://127.0.0.1/hook', production)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://[::ffff:127.0.0.1]/hook', production)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://[::1]/hook', production)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://localhost/hook', production)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://metadata.localhost./hook', production)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://intranet/hook', production)).toBe('must name a public host');
    expect(webhookUrlProblem('http://127.0.0.1:9/hook', tests)).toBeUndefined();
  });
});

describe('webhook delivery', () => {
  let server: Server;
  let other: Server;
  let hits: string[];
  const url = (s: Server, path: string) => `http://127.0.0.1:${(s.address() as { port: number }).port}${path}`;

  beforeAll(async () => {
    hits = [];
    other = createServer((request, response) => {
      hits.push(`other ${request.url}`);
      response.writeHead(204).end();
    });
    server = createServer((request, response) => {
      hits.push(`main ${request.url}`);
      if (request.url === '/redirect') response.writeHead(302, { location: url(other, '/followed') }).end();
      else response.writeHead(204).end();
    });
    await Promise.all([
      new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve)),
    ]);
  });
  afterAll(() => {
    server.close();
    other.close();
  });

  it('resolves the host at delivery time and refuses a name that resolves to loopback', async () => {
    await expect(resolvePublicAddresses('localhost', strict)).rejects.toThrow(/loopback/);
    await expect(postWebhook(url(server, '/hook'), '{}', {}, strict)).rejects.toThrow(/refused/);
    expect(hits).toEqual([]);
  });

  it('delivers to an allowed target and does not follow redirects', async () => {
    expect(await postWebhook(url(server, '/hook'), '{}', { 'content-type': 'application/json' }, tests)).toBe(204);
    expect(await postWebhook(url(server, '/redirect'), '{}', {}, tests)).toBe(302);
    expect(hits).toEqual(['main /hook', 'main /redirect']);
  });
});

describe('webhook delivery to a host that trickles', () => {
  let trickler: TcpServer;
  let closed: Promise<void>;
  const timers: NodeJS.Timeout[] = [];
  const sockets: Socket[] = [];

  /** A raw server that writes `head` at once, then one more byte every 40 ms for as long as the socket lives. */
  async function trickle(head: string): Promise<string> {
    let onClosed!: () => void;
    closed = new Promise((resolve) => (onClosed = resolve));
    trickler = createTcpServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write(head);
        const timer = setInterval(() => socket.write('x'), 40);
        timers.push(timer);
        socket.once('close', () => {
          clearInterval(timer);
          onClosed();
        });
      });
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(trickler.address() as { port: number }).port}/hook`;
  }
  afterEach(() => {
    timers.forEach(clearInterval);
    sockets.forEach((socket) => socket.destroy());
    trickler.close();
  });

  it('gives up on headers that never end within its one deadline, however steadily bytes arrive', async () => {
    const target = await trickle('HTTP/1.1 200 OK\r\nX-Slow: ');
    await expect(postWebhook(target, '{}', {}, tests, 300)).rejects.toThrow(/timed out/);
    await closed;
  });

  it('takes the status and closes the connection instead of reading a body that never ends', async () => {
    const target = await trickle('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
    expect(await postWebhook(target, '{}', {}, tests, 5_000)).toBe(200);
    await closed;
  });
});
