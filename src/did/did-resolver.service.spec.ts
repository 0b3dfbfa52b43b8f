import type { DIDResolutionResult } from 'did-resolver';
import type { ChainBootstrap, ChainClient, ChainEvents } from '../chain/index.js';
import { DidResolverService } from './did-resolver.service.js';

/** Counts the chain lookups the service makes; the resolution itself is not what is tested here. */
class CountingResolver extends DidResolverService {
  lookups = 0;
  release: () => void = () => undefined;
  private gate: Promise<void> = Promise.resolve();
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  protected override async lookup(did: string): Promise<DIDResolutionResult> {
    this.lookups++;
    await this.gate;
    return {
      didResolutionMetadata: {},
      didDocument: { id: did },
      didDocumentMetadata: {},
    } as DIDResolutionResult;
  }
}

function service(maxEntries: number) {
  const listeners: ((identity: string) => void)[] = [];
  const events = { onIdentityChanged: (listener: (identity: string) => void) => listeners.push(listener) };
  const resolver = new CountingResolver(
    { networkName: 'govchain', chainId: 7777 } as ChainClient,
    {} as ChainBootstrap,
    events as unknown as ChainEvents,
    { ttlSeconds: 300, maxEntries },
  );
  return { resolver, emit: (identity: string) => listeners.forEach((listener) => listener(identity)) };
}

const did = (n: number) => `did:ethr:govchain:0x${n.toString(16).padStart(40, '0')}`;

describe('DidResolverService cache', () => {
  it('stays at DID_CACHE_MAX_ENTRIES after many distinct DIDs', async () => {
    const { resolver } = service(50);
    for (let i = 1; i <= 500; i++) await resolver.resolve(did(i));
    expect(resolver.cacheSize).toBe(50);
    expect(resolver.lookups).toBe(500);
  });

  it('makes one chain lookup for 20 concurrent resolutions of one DID', async () => {
    const { resolver } = service(50);
    resolver.hold();
    const all = Promise.all(Array.from({ length: 20 }, () => resolver.resolve(did(7))));
    resolver.release();
    const results = await all;
    expect(new Set(results.map((result) => result.didDocument?.id))).toEqual(new Set([did(7)]));
    expect(resolver.lookups).toBe(1);
    await resolver.resolve(`${did(7)}#controller`);
    expect(resolver.lookups).toBe(1);
  });

  it('evicts on a registry event and never reaches the chain for malformed DIDs', async () => {
    const { resolver, emit } = service(50);
    await resolver.resolve(did(9));
    emit(`0x${(9).toString(16).padStart(40, '0')}`);
    await resolver.resolve(did(9));
    expect(resolver.lookups).toBe(2);
    const bad = await resolver.resolve('did:ethr:govchain:0xZZ');
    expect(bad.didResolutionMetadata.error).toBe('invalidDid');
    expect(resolver.lookups).toBe(2);
  });
});
