import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { MemoryThrottlerStorage, pollIntervalMs, RateLimitGuard, RedisThrottlerStorage } from './rate-limit.js';

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

describe('RateLimitGuard', () => {
  const guard = new RateLimitGuard(
    { perMinute: 2, perResourcePerMinute: 0, redisUrl: undefined, keyPrefix: '' },
    new MemoryThrottlerStorage(),
  );
  const from = (ip: string) =>
    ({
      getType: () => 'http',
      switchToHttp: () => ({ getRequest: () => ({ method: 'POST', ip, routeOptions: { url: '/oid4vci/nonce' } }) }),
    }) as unknown as ExecutionContext;
  const allowed = (ip: string) =>
    guard.canActivate(from(ip)).then(
      () => true,
      () => false,
    );

  it('counts an IPv6 client by its /64 (it has any number of addresses), an IPv4 one by its address', async () => {
    expect(await allowed('2001:db8:1:2::1')).toBe(true);
    expect(await allowed('2001:db8:1:2:ffff::9')).toBe(true);
    expect(await allowed('2001:db8:1:2:abcd:1:2:3')).toBe(false);
    // Another /64 and IPv4 addresses count apart.
    expect(await allowed('2001:db8:1:3::1')).toBe(true);
    expect(await allowed('192.0.2.1')).toBe(true);
    expect(await allowed('192.0.2.2')).toBe(true);
    expect(await allowed('::ffff:192.0.2.1')).toBe(true);
    expect(await allowed('192.0.2.1')).toBe(false);
  });
});
