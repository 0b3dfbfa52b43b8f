import { hash } from 'node:crypto';
import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { connectionAddressKey } from './connections-per-address.js';
import { ProblemError } from './errors.js';

/**
 * Which routes are rate limited, by Fastify route template. Unauthenticated endpoints that create
 * state or cost work: counted per client IP, and per offer / request (the `:id` parameter, or the
 * pre-authorized code, hashed) where the route names one. Other helpers' controllers stay untouched.
 */
export interface RateLimitedRoute {
  method: string;
  url: string;
  /**
   * Also counted per resource: the `:id` path parameter or a hash of this body field (or query parameter). With
   * `withQuery`, that query parameter's value is part of the resource: a request whose id is public (it is in the
   * QR code) and whose token is not, so that whoever has only the id cannot exhaust the holder's counter.
   */
  resource?: ({ param: string } | { bodyField: string }) & { withQuery?: string };
  /**
   * A page's poll of its own request, which many browsers behind one address (an office's NAT) make at once: the
   * per-address limit is this multiple of RATE_LIMIT_PER_MINUTE; each page polls within the per-resource limit
   * (`pollIntervalMs`).
   */
  perAddressFactor?: number;
}

export const RATE_LIMITED_ROUTES: readonly RateLimitedRoute[] = [
  { method: 'POST', url: '/oid4vci/nonce' },
  { method: 'POST', url: '/oid4vci/par' },
  { method: 'POST', url: '/oid4vci/token', resource: { bodyField: 'pre-authorized_code' } },
  { method: 'POST', url: '/oid4vci/authorize', resource: { bodyField: 'request_uri' } },
  { method: 'GET', url: '/oid4vci/authorize', resource: { bodyField: 'request_uri' } },
  { method: 'GET', url: '/oid4vci/offers/:id', resource: { param: 'id' } },
  { method: 'POST', url: '/oid4vp/response', resource: { bodyField: 'state' } },
  { method: 'GET', url: '/oid4vp/requests/:id', resource: { param: 'id' } },
  { method: 'POST', url: '/oid4vp/requests/:id', resource: { param: 'id' } },
  { method: 'GET', url: '/1.0/identifiers/:did' },
  // A list's history: two statements a page, but any number of pages.
  { method: 'GET', url: '/status/:listId/:purpose/history' },
  { method: 'POST', url: '/credentials/verify' },
  { method: 'POST', url: '/presentations/verify' },
  // Wallet login pages: each makes an OID4VP request (the provider's own endpoints are limited in src/citizens).
  { method: 'GET', url: '/oidc/interaction/:uid', resource: { param: 'uid' } },
  { method: 'GET', url: '/oidc/interaction/:uid/same-device', resource: { param: 'uid' } },
  // The wallet's return: a code that releases no verdict shows the page again with fresh requests.
  { method: 'GET', url: '/oidc/interaction/:uid/wallet-return', resource: { param: 'uid' } },
  // The wallet-login page's poll (each unseals the page state and the verdict).
  { method: 'GET', url: '/oidc/interaction/:uid/status', resource: { param: 'uid' }, perAddressFactor: 10 },
  // The holders' usage-log page: each start makes an OID4VP request; polls are per request.
  { method: 'POST', url: '/citizens/records/requests' },
  { method: 'GET', url: '/citizens/records' },
  { method: 'GET', url: '/citizens/records/same-device' },
  { method: 'GET', url: '/citizens/records/requests/:id', resource: { param: 'id' } },
  // The wallet's return to it (a sealed cookie that can be replayed until the verdict is purged; reads every use).
  { method: 'GET', url: '/citizens/records/return', resource: { bodyField: 'request' } },
  // A relying party's desk page (renders a QR code) and its poll of the verdict, by the request's view token.
  { method: 'GET', url: '/rp/desk/:id', resource: { param: 'id', withQuery: 'view' } },
  { method: 'GET', url: '/rp/requests/:id/verdict', resource: { param: 'id', withQuery: 'view' }, perAddressFactor: 10 },
  // Joint approval (issue 16): the applicant's polls (read token) and peer departments' content requests
  // (each recovers a secp256k1 signature and reads the chain).
  { method: 'GET', url: '/approvals/:reference', resource: { param: 'reference' } },
  // Per address only: the application id is public on chain and the same for every department, so a count per id
  // would let anyone lock the departments out of an application they must decide.
  { method: 'GET', url: '/consortium/approvals/:applicationId/content' },
];

/**
 * How often a page polls a limited route: every `preferredMs` (PAGE_POLL_MS), or less often when the limits that
 * count its polls (per minute; 0 is off) would refuse that pace.
 */
export function pollIntervalMs(limitsPerMinute: number[], preferredMs: number): number {
  const limits = limitsPerMinute.filter((limit) => limit > 0);
  return limits.length > 0 ? Math.max(preferredMs, Math.ceil(60_000 / Math.min(...limits))) : preferredMs;
}

export const RATE_LIMIT_OPTIONS = Symbol('RATE_LIMIT_OPTIONS');
export interface RateLimitOptions {
  perMinute: number;
  perResourcePerMinute: number;
  redisUrl: string | undefined;
  keyPrefix: string;
}

const WINDOW_MS = 60_000;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** INCR and, on the first hit of a window, PEXPIRE, atomically; returns the count and the ms left. */
const INCREMENT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if hits == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}
`;

const record = (hits: number, ttlMs: number, limit: number): ThrottlerStorageRecord => {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return { totalHits: hits, timeToExpire: seconds, isBlocked: hits > limit, timeToBlockExpire: hits > limit ? seconds : 0 };
};

/** Fixed-window counters in process memory (one instance, or no Redis configured); bounded in size. */
export class MemoryThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new LRUCache<string, { hits: number; resetAt: number }>({ max: 100_000 });

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { hits: 0, resetAt: now + ttl };
      this.windows.set(key, window);
    }
    window.hits += 1;
    return record(window.hits, window.resetAt - now, limit);
  }
}

/** Fixed-window counters in Redis, shared by every instance; `@nest-lab/throttler-storage-redis` does not support Nest 12. */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  readonly redis: Redis;

  constructor(
    url: string,
    private readonly keyPrefix: string,
  ) {
    // No offline queue: while Redis is down a call fails at once and the guard lets the request through.
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    this.redis.on('error', () => undefined); // reported by the guard, once per state change
  }

  /** Connects at start-up so the first requests are counted; a Redis that is down does not stop the service. */
  async connect(): Promise<void> {
    await this.redis.connect().catch(() => undefined);
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const [hits, ttlMs] = (await this.redis.eval(INCREMENT_SCRIPT, 1, this.keyPrefix + key, String(ttl))) as [number, number];
    return record(hits, ttlMs, limit);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

export const THROTTLER_STORAGE = Symbol('THROTTLER_STORAGE');

export async function createThrottlerStorage(options: RateLimitOptions): Promise<ThrottlerStorage> {
  if (!options.redisUrl) return new MemoryThrottlerStorage();
  const storage = new RedisThrottlerStorage(options.redisUrl, options.keyPrefix);
  await storage.connect();
  return storage;
}

/** OAuth 2.0 / OID4VC endpoints among the limited ones: their 429 is RFC 6749 JSON (see problem.filter.ts). */
export const tooManyRequests = (retryAfterSeconds: number) =>
  new ProblemError(429, 'rate_limited', 'Too many requests', 'Too many requests; retry later', {}, retryAfterSeconds);

const hashed = (value: string) => hash('sha256', value, 'base64url').slice(0, 22);

/**
 * The global guard that applies RATE_LIMITED_ROUTES. Each request to a listed route counts once per
 * client IP and, where the route names one, once per resource; over the limit it answers 429 with
 * Retry-After. When the counter store fails (Redis down) requests pass: the limits protect
 * capacity, and refusing everyone would turn a Redis outage into a service outage.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger('RateLimit');
  private readonly routes = new Map(RATE_LIMITED_ROUTES.map((route) => [`${route.method} ${route.url}`, route]));
  private storeFailing = false;

  constructor(
    @Inject(RATE_LIMIT_OPTIONS) private readonly options: RateLimitOptions,
    @Inject(THROTTLER_STORAGE) private readonly storage: ThrottlerStorage,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Fastify answers HEAD through the GET route's handler (exposeHeadRoutes): the same work, so the same counters.
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const route = this.routes.get(`${method} ${request.routeOptions.url}`);
    if (!route) return true;
    const counters: { key: string; limit: number }[] = [];
    if (this.options.perMinute > 0) {
      const limit = this.options.perMinute * (route.perAddressFactor ?? 1);
      // Per IPv4 address or IPv6 /64: one subscriber's network hands out any number of IPv6 addresses.
      counters.push({ key: `ip:${route.method}:${route.url}:${connectionAddressKey(request.ip)}`, limit });
    }
    const resource = this.resourceOf(route, request);
    if (resource !== undefined && this.options.perResourcePerMinute > 0) {
      counters.push({ key: `res:${route.url}:${hashed(resource)}`, limit: this.options.perResourcePerMinute });
    }
    for (const counter of counters) {
      let result: ThrottlerStorageRecord;
      try {
        result = await this.storage.increment(counter.key, WINDOW_MS, counter.limit, 0, 'default');
        this.storeState(false);
      } catch (error) {
        this.storeState(true, error);
        return true;
      }
      if (result.isBlocked) throw tooManyRequests(result.timeToBlockExpire || result.timeToExpire);
    }
    return true;
  }

  private resourceOf(route: RateLimitedRoute, request: FastifyRequest): string | undefined {
    const { resource } = route;
    if (!resource) return undefined;
    const query = request.query as Record<string, unknown> | undefined;
    const source =
      'param' in resource
        ? (request.params as Record<string, unknown> | undefined)?.[resource.param]
        : ((request.body as Record<string, unknown> | undefined)?.[resource.bodyField] ?? query?.[resource.bodyField]);
    if (typeof source !== 'string' || source.length === 0) return undefined;
    if (!resource.withQuery) return source.slice(0, 2048);
    const token = query?.[resource.withQuery];
    // Hashed with the id (never stored as given); a missing or repeated token counts apart from the holder's.
    return `${source.slice(0, 2048)}\n${typeof token === 'string' ? token.slice(0, 2048) : ''}`;
  }

  private storeState(failing: boolean, error?: unknown) {
    if (failing === this.storeFailing) return;
    this.storeFailing = failing;
    if (failing) {
      const code = (error as { code?: unknown })?.code;
      this.logger.warn(
        { event: 'rate_limit_store_down', code: typeof code === 'string' ? code : undefined },
        'rate-limit store unavailable; not limiting',
      );
    } else {
      this.logger.log({ event: 'rate_limit_store_up' }, 'rate-limit store reachable again');
    }
  }
}
