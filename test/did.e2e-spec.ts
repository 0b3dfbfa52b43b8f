import { randomBytes } from 'node:crypto';
import { getAddress } from 'ethers';
import { jest } from '@jest/globals';
import { Resolver } from 'did-resolver';
import { ChainClient } from '../src/chain/index.js';
import { DidResolverService } from '../src/did/index.js';
import { createActiveAgency, startTestApp, type TestApp } from './support/test-app.js';

/** The DID endpoint answers a client's mistake with 400/404 in the Universal Resolver's shape, never a 5xx. */
describe('DID resolution endpoint', () => {
  let app: TestApp;
  const address = getAddress('0x' + randomBytes(20).toString('hex'));
  const resolve = (path: string) => app.call('GET', `/1.0/identifiers/${path}`);

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('resolves a did:ethr on our chain (also %-encoded once, as resolver clients send it), also at a past version', async () => {
    const encoded = await resolve(encodeURIComponent(`did:ethr:govchain:${address}`));
    expect(encoded.status).toBe(200);
    const ok = await resolve(`did:ethr:govchain:${address}`);
    expect(ok.status).toBe(200);
    expect(ok.body.didDocument.id).toBe(`did:ethr:govchain:${address}`);
    const past = await resolve(`did:ethr:govchain:${address}?versionId=0`);
    expect(past.status).toBe(200);
  });

  it('never answers (and remembers) notFound for a chain read that failed half-way through a resolution', async () => {
    // An agency's DID has registry changes, so ethr-did-resolver reads their block after the change log, and
    // answers notFound if that read fails: a node going away between the two reads.
    await createActiveAgency(app, 'did-halfway', 'Half-way Agency');
    const { did } = (await app.operator('GET', '/operator/agencies/did-halfway')).body as { did: string };
    // Resolved (and remembered) while the agency was activated: forget it, so this resolution reads the chain.
    app.app.get(DidResolverService).evict(did.split(':').pop()!);
    const provider = app.app.get(ChainClient).provider;
    const blockRead = jest.spyOn(provider, 'getBlock').mockRejectedValueOnce(new Error('socket hang up'));
    try {
      const first = await resolve(did);
      expect(first.status).toBe(200);
      expect(first.body.didDocument.id).toBe(did);
      expect(blockRead).toHaveBeenCalled();
    } finally {
      blockRead.mockRestore();
    }
  });

  it("asks ethr-did-resolver once only when its notFound is about the chain's data, not a failed read", async () => {
    const did = `did:ethr:govchain:${getAddress('0x' + randomBytes(20).toString('hex'))}`;
    const notFound = (message: string) => ({
      didResolutionMetadata: { error: 'notFound', message },
      didDocument: null,
      didDocumentMetadata: {},
    });
    // What ethers says when an attribute is not UTF-8: asking again cannot change it.
    const data = jest
      .spyOn(Resolver.prototype, 'resolve')
      .mockResolvedValueOnce(notFound('Error: invalid codepoint at offset 1 (argument="bytes", code=INVALID_ARGUMENT)'));
    try {
      expect((await resolve(did)).status).toBe(404);
      expect(data).toHaveBeenCalledTimes(1);
    } finally {
      data.mockRestore();
    }
  });

  it('answers a DID longer than the router takes with a 4xx problem, not a 5xx', async () => {
    const reply = await resolve(`did:ethr:govchain:0x${'a'.repeat(5_000)}`);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
  });

  // The same address with the case of one letter flipped: a wrong EIP-55 checksum.
  const letter = address.slice(2).search(/[a-fA-F]/) + 2;
  const flipped =
    address[letter] === address[letter]!.toLowerCase() ? address[letter]!.toUpperCase() : address[letter]!.toLowerCase();
  const wrongChecksum = address.slice(0, letter) + flipped + address.slice(letter + 1);
  it.each([
    ['a wrong EIP-55 checksum', `did:ethr:govchain:${wrongChecksum}`, 400, 'invalidDid'],
    ['an unknown network', `did:ethr:mainnet:${address}`, 404, 'notFound'],
    ['no network', `did:ethr:${address}`, 404, 'notFound'],
    ['a future versionId', `did:ethr:govchain:${address}?versionId=999999999`, 404, 'notFound'],
    ['a future versionId (encoded in the path)', `did:ethr:govchain:${address}%3FversionId%3D999999999`, 404, 'notFound'],
    ['a non-numeric versionId', `did:ethr:govchain:${address}?versionId=abc`, 400, 'invalidDid'],
    ['another query parameter', `did:ethr:govchain:${address}?foo=1`, 400, 'invalidDid'],
    ['another method', 'did:web:example.com', 400, 'methodNotSupported'],
    ['a long DID', `did:ethr:govchain:0x${'a'.repeat(80)}`, 400, 'invalidDid'],
    ['a %-encoded character left after decoding', `did:ethr:govchain:${address}%2525`, 400, 'invalidDid'],
    ['a %-encoded DID encoded twice', `did%253Aethr%253Agovchain%253A${address}`, 400, 'invalidDid'],
    ['unicode', `did:ethr:govchain:${encodeURIComponent('０x' + address.slice(2))}`, 400, 'invalidDid'],
    ['not a DID', 'hello', 400, 'invalidDid'],
  ])('answers %s with a clean 4xx', async (_, path, status, error) => {
    const reply = await resolve(path);
    expect(reply.status).toBe(status);
    expect(reply.body.didResolutionMetadata.error).toBe(error);
    expect(reply.body.didDocument).toBeNull();
    expect(JSON.stringify(reply.body)).not.toMatch(/Error:|at .*\.js/);
  });
});
