import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache', () => {
  it('stays at its bound, dropping the least recently used entry', async () => {
    const cache = new BoundedCache<string>({ maxEntries: 100, ttlMs: 60_000 });
    for (let i = 0; i < 1_000; i++) await cache.get(`k${i}`, async () => `v${i}`);
    expect(cache.size).toBe(100);
    let loads = 0;
    // The newest entries are still there, the oldest were dropped.
    expect(await cache.get('k999', async () => `reloaded${++loads}`)).toBe('v999');
    expect(await cache.get('k0', async () => `reloaded${++loads}`)).toBe('reloaded1');
    expect(cache.size).toBe(100);
  });

  it('keeps within a budget of bytes when given one, and hands out a value too heavy to keep without keeping it', async () => {
    const cache = new BoundedCache<string>({
      maxEntries: 1_000,
      ttlMs: 60_000,
      weight: { maxBytes: 10_000, weigh: (value) => value.length },
    });
    for (let i = 0; i < 20; i++) await cache.get(`k${i}`, async () => `${i}`.padEnd(1_000, '.'));
    // Ten of 1,000 bytes fill the budget: the oldest ten were dropped although 1,000 entries were allowed.
    expect(cache.size).toBe(10);
    let loads = 0;
    expect(await cache.get('k19', async () => `reloaded${++loads}`)).toMatch(/^19/);
    expect(await cache.get('k0', async () => `reloaded${++loads}`)).toBe('reloaded1');
    const heavy = 'x'.repeat(20_000);
    expect(await cache.get('heavy', async () => heavy)).toBe(heavy);
    expect(await cache.get('heavy', async () => `reloaded${++loads}`)).toBe('reloaded2');
  });

  it('coalesces concurrent lookups of one key into one load', async () => {
    const cache = new BoundedCache<string>({ maxEntries: 10, ttlMs: 60_000 });
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = async () => {
      loads++;
      await gate;
      return 'value';
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get('did', load)));
    release();
    expect(await all).toEqual(new Array(20).fill('value'));
    expect(loads).toBe(1);
    // A failed load is not cached and does not stick.
    await expect(cache.get('bad', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('bad', async () => 'up')).toBe('up');
  });

  it('expires entries after their TTL, negative answers sooner', async () => {
    let now = 1_000;
    const cache = new BoundedCache<string>({ maxEntries: 10, ttlMs: 60_000, now: () => now });
    let loads = 0;
    const load = async () => `v${++loads}`;
    const ttlFor = (value: string) => (value === 'none' ? 5_000 : Number.POSITIVE_INFINITY);
    expect(await cache.get('a', load, ttlFor)).toBe('v1');
    expect(await cache.get('n', async () => 'none', ttlFor)).toBe('none');
    now += 10_000;
    expect(await cache.get('a', load, ttlFor)).toBe('v1');
    expect(await cache.get('n', async () => 'fresh', ttlFor)).toBe('fresh');
    now += 60_000;
    expect(await cache.get('a', load, ttlFor)).toBe('v2');
  });

  it('an eviction during a load keeps the loaded value out of the cache', async () => {
    const cache = new BoundedCache<string>({ maxEntries: 10, ttlMs: 60_000 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const pending = cache.get('0xabc|did', async () => {
      await gate;
      return 'old';
    });
    await Promise.resolve();
    cache.deleteWhere((key) => key.startsWith('0xabc|'));
    release();
    expect(await pending).toBe('old');
    expect(await cache.get('0xabc|did', async () => 'new')).toBe('new');
  });
});
