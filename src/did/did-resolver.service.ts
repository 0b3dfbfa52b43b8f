import { Inject, Injectable } from '@nestjs/common';
import { Resolver, type DIDResolutionResult, type VerificationMethod } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { ChainBootstrap, ChainClient, ChainEvents } from '../chain/index.js';
import { ethrDidAddress } from './ethr-did.js';

export const DID_CACHE_TTL_SECONDS = Symbol('DID_CACHE_TTL_SECONDS');

interface CacheEntry {
  result: DIDResolutionResult;
  expiresAt: number;
}

/**
 * Resolves DIDs against the configured chain with ethr-did-resolver. Results are cached; a registry
 * event for an identity evicts its entries at once, the TTL bounds staleness if events are missed.
 */
@Injectable()
export class DidResolverService {
  private resolver: Resolver | undefined;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    events: ChainEvents,
    @Inject(DID_CACHE_TTL_SECONDS) private readonly ttlSeconds: number,
  ) {
    events.onIdentityChanged((identity) => this.evict(identity));
  }

  async resolve(did: string): Promise<DIDResolutionResult> {
    const key = did.split('#')[0]!;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.result;
    const result = await this.getResolver().resolve(key);
    const error = result.didResolutionMetadata.error;
    // Only documents are cached: a transient failure or a not-yet-anchored DID is asked again next time.
    if (!error && this.ttlSeconds > 0) this.cache.set(key, { result, expiresAt: Date.now() + this.ttlSeconds * 1000 });
    return result;
  }

  /** The verification method `kid` names, if the issuer's current DID document lists it for assertions. */
  async assertionMethod(kid: string): Promise<VerificationMethod | undefined> {
    const did = kid.split('#')[0]!;
    const { didDocument } = await this.resolve(did);
    if (!didDocument) return undefined;
    const assertionRefs = (didDocument.assertionMethod ?? []).map((ref) => (typeof ref === 'string' ? ref : ref.id));
    if (!assertionRefs.includes(kid)) return undefined;
    return didDocument.verificationMethod?.find((method) => method.id === kid);
  }

  evict(identity: string): void {
    const address = identity.toLowerCase();
    for (const did of this.cache.keys()) {
      if (ethrDidAddress(did)?.toLowerCase() === address) this.cache.delete(did);
    }
  }

  private getResolver(): Resolver {
    this.resolver ??= new Resolver(
      getResolver({
        networks: [
          {
            name: this.chain.networkName,
            chainId: this.chain.chainId,
            registry: this.bootstrap.registryAddress,
            // Our provider has the response cache disabled, so a change is visible right after its event.
            provider: this.chain.provider as never,
          },
        ],
      }) as never,
    );
    return this.resolver;
  }
}
