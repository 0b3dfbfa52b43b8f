import { randomBytes } from 'node:crypto';
import { MemoryThrottlerStorage, pollIntervalMs, RedisThrottlerStorage } from './rate-limit.js';

describe('throttler storages', () => {
  it('counts a fixed window in memory and blocks above the limit', async () => {
    const storage = new MemoryThrottlerStorage();
    const hits = [];
    for (let i = 0; i < 3; i++) hits.push(await storage.increment('k', 60_000, 2));
    expect(hits.map((hit) => hit.totalHits)).toEqual([1, 2, 3]);
    expect(hits.map((hit) => hit.isBlocked)).toEqual([false, false, true]);
    expect(hits[2]!.timeToBlockExpire).toBeGreaterThan(0);
    expect(hits[2]!.timeToBlockExpire).toBeLessThanOrEqual(60);
    expect((await storage.increment('other', 60_000, 2)).totalHits).toBe(1);
  });

  it('counts atomically in Redis under its key prefix, with an expiry', async () => {
    const prefix = `chancery-unit:${randomBytes(6).toString('hex')}:`;
    const storage = new RedisThrottlerStorage('redis://127.0.0.1:6379', prefix);
    await storage.connect();
    try {
      const hits = await Promise.all(Array.from({ length: 20 }, () => storage.increment('k', 60_000, 10)));
      expect(hits.map((hit) => hit.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(hits.filter((hit) => hit.isBlocked)).toHaveLength(10);
      const ttl = await storage.redis.pttl(`${prefix}k`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await storage.redis.del(`${prefix}k`);
      await storage.onApplicationShutdown();
    }
  });

  it('has pages poll at PAGE_POLL_MS, or as often as the tighter of the limits counting them allows', () => {
    expect(pollIntervalMs([30, 120], 1000)).toBe(2000);
    expect(pollIntervalMs([30], 1000)).toBe(2000);
    expect(pollIntervalMs([60, 120], 1000)).toBe(1000);
    expect(pollIntervalMs([0, 120], 250)).toBe(500);
    expect(pollIntervalMs([300, 120], 1000)).toBe(1000);
    expect(pollIntervalMs([7, 0], 1000)).toBe(8572);
    expect(pollIntervalMs([1000, 1000], 100)).toBe(100);
    expect(pollIntervalMs([0, 0], 1000)).toBe(1000);
    expect(pollIntervalMs([0], 200)).toBe(200);
  });
});
