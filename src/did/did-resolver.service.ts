import { Inject, Injectable } from '@nestjs/common';
import { Resolver, type DIDResolutionResult, type VerificationMethod } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { ChainBootstrap, ChainClient, ChainEvents } from '../chain/index.js';
import { BoundedCache, chainUnavailable } from '../common/index.js';
import { parseResolvableDid } from './did-syntax.js';

export const DID_CACHE_OPTIONS = Symbol('DID_CACHE_OPTIONS');

export interface DidCacheOptions {
  ttlSeconds: number;
  maxEntries: number;
  /** Lifetime of a negative answer (a DID with no document); never longer than ttlSeconds. */
  negativeTtlSeconds?: number;
}

const DEFAULT_NEGATIVE_TTL_SECONDS = 30;

/**
 * ethr-did-resolver's notFound for a document it could not build from what the chain holds (an attribute that is
 * not UTF-8: ethers' INVALID_ARGUMENT), as opposed to a read that failed: asking again gives the same answer.
 */
function isDataError(result: DIDResolutionResult): boolean {
  const message = (result.didResolutionMetadata as { message?: unknown }).message;
  return typeof message === 'string' && /INVALID_ARGUMENT|BUFFER_OVERRUN|NUMERIC_FAULT/.test(message);
}

/** A resolution result without a document, in the Universal Resolver's shape. */
export function resolutionError(error: string, message: string): DIDResolutionResult {
  return { didResolutionMetadata: { error, message }, didDocument: null, didDocumentMetadata: {} };
}

/**
 * Resolves DIDs against the configured chain with ethr-did-resolver. Input is checked before any chain
 * call (see parseResolvableDid). Results live in a bounded LRU cache with TTL (DID_CACHE_MAX_ENTRIES,
 * DID_CACHE_TTL_SECONDS; a DID with no document for a shorter time); concurrent lookups of one DID share
 * one chain lookup; a registry event for an identity evicts its entries at once.
 */
@Injectable()
export class DidResolverService {
  private resolver: Resolver | undefined;
  private readonly cache: BoundedCache<DIDResolutionResult>;
  private readonly negativeTtlMs: number;

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    events: ChainEvents,
    @Inject(DID_CACHE_OPTIONS) options: DidCacheOptions,
  ) {
    this.cache = new BoundedCache({ maxEntries: options.maxEntries, ttlMs: options.ttlSeconds * 1000 });
    this.negativeTtlMs = (options.negativeTtlSeconds ?? DEFAULT_NEGATIVE_TTL_SECONDS) * 1000;
    events.onIdentityChanged((identity) => this.evict(identity));
  }

  /** Entries held now (for tests and metrics). */
  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * The resolution result; a malformed DID, another method or network, or an unknown version is an
   * answer with `didResolutionMetadata.error` (invalidDid, methodNotSupported, notFound), never a throw.
   * Throws a 503 problem only when the chain cannot be reached.
   */
  async resolve(did: string): Promise<DIDResolutionResult> {
    const parsed = parseResolvableDid(did, { name: this.chain.networkName, chainId: this.chain.chainId });
    if (!parsed.ok) return resolutionError(parsed.error, parsed.message);
    return this.cache.get(
      this.cacheKey(parsed.address, parsed.did),
      () => this.lookup(parsed.did, parsed.versionId),
      (result) => (result.didDocument ? Number.POSITIVE_INFINITY : this.negativeTtlMs),
    );
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
    const prefix = `${identity.toLowerCase()}|`;
    this.cache.deleteWhere((key) => key.startsWith(prefix));
  }

  /** Keys start with the lower-case address so that a registry event finds them. */
  private cacheKey(address: string, did: string): string {
    return `${address.toLowerCase()}|${did}`;
  }

  /** One chain lookup (protected: tests count them). */
  protected async lookup(did: string, versionId: number | undefined): Promise<DIDResolutionResult> {
    try {
      if (versionId !== undefined && versionId > (await this.chain.provider.getBlockNumber())) {
        return resolutionError('notFound', `version ${versionId} does not exist yet`);
      }
      let result = await this.getResolver().resolve(did);
      if (result.didResolutionMetadata.error === 'notFound' && !isDataError(result)) {
        // ethr-did-resolver turns a chain read that fails after the change log (a block's time) into notFound,
        // and a did:ethr of our network has a document otherwise: once more, after a read that throws (503,
        // nothing remembered) if the node is gone.
        await this.chain.provider.getBlockNumber();
        result = await this.getResolver().resolve(did);
      }
      const error = result.didResolutionMetadata.error;
      // ethr-did-resolver puts library text in its messages; clients get a fixed one.
      return error ? resolutionError(error === 'invalidDid' ? 'invalidDid' : 'notFound', 'the DID has no document') : result;
    } catch {
      throw chainUnavailable();
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
