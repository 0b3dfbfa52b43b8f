import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchDidWebDocument, type DidWebOptions } from './did-web.js';

/** A did:web host on loopback: serves the document for whichever DID form it was asked under. */
describe('fetchDidWebDocument', () => {
  let server: Server;
  let port: number;
  let requests: string[];
  let reply: (url: string, did: string, response: import('node:http').ServerResponse) => void;
  const options = (privateHosts: DidWebOptions['privateHosts'], more: Partial<DidWebOptions> = {}): DidWebOptions => ({
    timeoutMs: 2_000,
    maxBytes: 65_536,
    allowHttp: true,
    privateHosts,
    ...more,
  });
  const document = (did: string) => ({ '@context': 'https://www.w3.org/ns/did/v1', id: did });

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      const host = (request.headers.host ?? '').replace(':', '%3A');
      reply(request.url ?? '', `did:web:${host}`, response);
    });
    await new Promise<void>((resolve) => server.listen(0, resolve));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => {
    requests = [];
    reply = (_url, did, response) =>
      response.setHeader('content-type', 'application/did+json').end(JSON.stringify(document(did)));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads a document from any host where private hosts are allowed (outside production)', async () => {
    const did = `did:web:127.0.0.1%3A${port}`;
    expect(await fetchDidWebDocument(did, options('all'))).toEqual(document(did));
    expect(requests).toEqual(['/.well-known/did.json']);
  });

  it('never connects to a private address in production: an IP literal, or a name that resolves to one', async () => {
    expect(await fetchDidWebDocument(`did:web:127.0.0.1%3A${port}`, options([]))).toBeUndefined();
    expect(await fetchDidWebDocument(`did:web:localhost%3A${port}`, options([]))).toBeUndefined();
    // The WHATWG URL parser turns a decimal host into 127.0.0.1 before the check.
    expect(await fetchDidWebDocument(`did:web:2130706433%3A${port}`, options([]))).toBeUndefined();
    expect(requests).toEqual([]);
  });

  it('answers a name that does not exist as it answers a private one, so neither tells which internal names exist', async () => {
    // RFC 6761: .invalid never resolves.
    expect(await fetchDidWebDocument('did:web:vault.corp.invalid', options([]))).toBeUndefined();
    expect(await fetchDidWebDocument(`did:web:localhost%3A${port}`, options([]))).toBeUndefined();
  });

  it('reaches a private host the operator lists (DID_WEB_PRIVATE_HOSTS)', async () => {
    const did = `did:web:localhost%3A${port}`;
    expect(await fetchDidWebDocument(did, options(['localhost']))).toEqual(document(did));
    expect(requests).toHaveLength(1);
  });

  it('does not follow a redirect, and refuses a document above the size cap or about another DID', async () => {
    const did = `did:web:127.0.0.1%3A${port}`;
    reply = (_url, _did, response) => response.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
    expect(await fetchDidWebDocument(did, options('all'))).toBeUndefined();
    expect(requests).toEqual(['/.well-known/did.json']);
    reply = (_url, asked, response) => response.end(JSON.stringify({ ...document(asked), padding: 'x'.repeat(2_000) }));
    expect(await fetchDidWebDocument(did, options('all', { maxBytes: 1_024 }))).toBeUndefined();
    reply = (_url, _did, response) => response.end(JSON.stringify(document('did:web:other.example')));
    expect(await fetchDidWebDocument(did, options('all'))).toBeUndefined();
    // A port no URL can carry is a DID that does not resolve, not a host that could not be reached.
    expect(await fetchDidWebDocument('did:web:example.com%3A99999', options('all'))).toBeUndefined();
  });

  it('gives up on a host that answers too slowly in all, even one that keeps sending', async () => {
    reply = (_url, _did, response) => {
      response.writeHead(200, { 'content-type': 'application/did+json' });
      const drip = setInterval(() => response.write(' '), 50);
      response.on('close', () => clearInterval(drip));
    };
    await expect(fetchDidWebDocument(`did:web:127.0.0.1%3A${port}`, options('all', { timeoutMs: 300 }))).rejects.toThrow(
      /no answer within 300 ms/,
    );
  });
});
