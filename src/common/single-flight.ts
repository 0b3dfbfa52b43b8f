/**
 * Concurrent calls for one key share one run of `load`; the first call after it settled runs it again.
 * For reads whose answer may be shared but not kept (freshness is decided elsewhere): without it, every
 * request in flight when a cached answer goes stale sends its own read.
 */
export class SingleFlight<V> {
  private readonly running = new Map<string, Promise<V>>();

  run(key: string, load: () => Promise<V>): Promise<V> {
    let running = this.running.get(key);
    if (!running) {
      running = load().finally(() => this.running.delete(key));
      this.running.set(key, running);
    }
    return running;
  }
}
