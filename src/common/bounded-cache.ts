import { LRUCache } from 'lru-cache';

export interface BoundedCacheOptions<V = never> {
  /** Most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** Lifetime of an entry in milliseconds; 0 disables caching (lookups are still coalesced). */
  ttlMs: number;
  /** A clock for tests (milliseconds); defaults to performance.now via lru-cache. */
  now?: () => number;
  /**
   * A budget beside the entry count, for values whose size an outside party chooses (a fetched document):
   * `weigh` estimates one value's heap size in bytes; the least recently used go first, and a value
   * heavier than the whole budget is handed to its callers but not kept.
   */
  weight?: { maxBytes: number; weigh: (value: V) => number };
}

/**
 * A bounded LRU cache with per-entry TTL that coalesces concurrent lookups of one key into one load.
 * `delete` (an event said the value changed) also detaches a load in flight, so its result is handed to
 * its callers but not cached.
 */
export class BoundedCache<V extends NonNullable<unknown>> {
  private readonly cache: LRUCache<string, V>;
  private readonly inflight = new Map<string, Promise<V>>();
  private readonly ttlMs: number;

  constructor(options: BoundedCacheOptions<V>) {
    this.ttlMs = options.ttlMs;
    this.cache = new LRUCache<string, V>({
      max: Math.max(1, options.maxEntries),
      ttl: Math.max(1, options.ttlMs),
      ttlAutopurge: false,
      ...(options.weight
        ? {
            maxSize: options.weight.maxBytes,
            sizeCalculation: (value: V) => Math.max(1, Math.ceil(options.weight!.weigh(value))),
          }
        : {}),
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * The cached value, or the result of `load` (shared with concurrent callers of the same key).
   * `ttlFor` chooses each loaded value's lifetime (e.g. shorter for negative answers; 0 = do not cache).
   */
  async get(key: string, load: () => Promise<V>, ttlFor: (value: V) => number = () => this.ttlMs): Promise<V> {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const promise: Promise<V> = Promise.resolve().then(async () => {
      try {
        const value = await load();
        const ttl = Math.min(ttlFor(value), this.ttlMs);
        // Only if no eviction detached this load meanwhile.
        if (ttl > 0 && this.inflight.get(key) === promise) this.cache.set(key, value, { ttl });
        return value;
      } finally {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
      }
    });
    this.inflight.set(key, promise);
    return promise;
  }

  delete(key: string): void {
    this.cache.delete(key);
    this.inflight.delete(key);
  }

  /** Removes every entry (cached or in flight) whose key matches. */
  deleteWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.cache.keys()]) if (matches(key)) this.cache.delete(key);
    for (const key of [...this.inflight.keys()]) if (matches(key)) this.inflight.delete(key);
  }
}
