import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { boundedGet, isUnresolvableHost, privateHostListed, SingleFlight, type BoundedResponse } from '../common/index.js';
import { StatusService } from './status.service.js';
import type { StatusPurpose } from './status.entity.js';
import { StatusListUnreachable, type LocalStatusList } from './status-checker.js';
import type { KnownListBytes } from './status.repository.js';

interface Cached {
  body: string;
  etag: string | undefined;
  freshUntil: number;
}

const MAX_BYTES = 2 * 1024 * 1024;
const TIMEOUT_MS = 5_000;
/** The longest a remote list is reused whatever it or its server says: a revocation must not stay hidden for days. */
const MAX_FRESH_SECONDS = 24 * 3600;

/**
 * How long (ms) a fetched list may be reused: its own `ttl` (Token Status List: seconds; Bitstring Status List:
 * `credentialSubject.ttl`, milliseconds) before the server's max-age, which the status list draft says the list's
 * claims take precedence over (§ Status List Response), and never past its `exp` or `validUntil`. A JWS's payload or a
 * JSON (Data Integrity) list is read before its signature is checked: a forged `ttl` can at most lengthen the reuse to
 * the cap of a day (a forged list fails its check when it is used).
 */
export function remoteListFreshMs(body: string, maxAgeSeconds: number, now = Date.now()): number {
  let claims: Record<string, unknown> = {};
  try {
    const json = body.startsWith('{') ? body : Buffer.from(body.split('.')[1] ?? '', 'base64url').toString('utf8');
    const parsed: unknown = JSON.parse(json);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) claims = parsed as Record<string, unknown>;
  } catch {
    // Not a JWS: the verification that reads it will say so; reuse only per max-age.
  }
  const subject = claims['credentialSubject'] as Record<string, unknown> | undefined;
  const positive = (value: unknown) => (typeof value === 'number' && value > 0 ? value : undefined);
  const ttlMs = positive(claims['ttl']) !== undefined ? positive(claims['ttl'])! * 1000 : positive(subject?.['ttl']);
  let freshMs = Math.min(ttlMs ?? maxAgeSeconds * 1000, MAX_FRESH_SECONDS * 1000);
  const exp = typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : undefined;
  const validUntil = typeof claims['validUntil'] === 'string' ? Date.parse(claims['validUntil']) : NaN;
  for (const end of [exp, Number.isNaN(validUntil) ? undefined : validUntil]) {
    if (end !== undefined) freshMs = Math.min(freshMs, end - now);
  }
  return Math.max(0, freshMs);
}

/**
 * Reads status lists. Our own lists are read from the database, so the service's verifier sees its own
 * agencies' status changes at once; other issuers' lists over HTTP, reused per their ttl (else max-age) and
 * never past their expiry, revalidating with If-None-Match, capping size and time.
 */
@Injectable()
export class StatusListFetcher {
  /** Other issuers' lists, up to MAX_BYTES each: bounded by their size too, not only by their number. */
  private readonly cache = new LRUCache<string, Cached>({
    max: 1_000,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (cached) => Math.max(1, 2 * cached.body.length),
  });
  /**
   * One request per URL at a time: when a list's max-age runs out under load, every verification in flight
   * would otherwise send the issuer its own request. A caller that arrives during the fetch shares it.
   */
  private readonly remoteFetches = new SingleFlight<string>();
  /** Our own lists: the bytes last read per URL and their digest, so an unchanged list is neither sent nor hashed again. */
  private readonly ownRead = new LRUCache<string, KnownListBytes>({ max: 1_000 });
  private readonly ownPrefix: string;
  private readonly production: boolean;
  private readonly privateHosts: readonly string[] | 'all';

  constructor(
    private readonly status: StatusService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ownPrefix = `${publicBaseUrl(config)}/status/`;
    this.production = config.env === 'production';
    this.privateHosts = config.status.remotePrivateHosts;
  }

  async fetch(url: string): Promise<string | LocalStatusList> {
    const own = this.ownList(url);
    if (own) {
      const known = this.ownRead.get(url);
      const { publication, anchorMined } = await this.status.servedWithAnchor(own.listId, own.purpose, known);
      if (publication.jwt === undefined && known) return { body: known.jwt, digest: known.digest, anchorMined };
      const utf8 = Buffer.from(publication.jwt ?? '');
      const read = { jwt: publication.jwt ?? '', utf8, digest: createHash('sha256').update(utf8).digest('hex') };
      this.ownRead.set(url, read);
      return { body: read.jwt, digest: read.digest, anchorMined };
    }
    return this.fetchRemote(url);
  }

  private ownList(url: string): { listId: string; purpose: StatusPurpose } | undefined {
    if (!url.startsWith(this.ownPrefix)) return undefined;
    const match = /^([0-9a-f-]{36})\/(revocation|suspension|token)$/.exec(url.slice(this.ownPrefix.length));
    return match ? { listId: match[1]!, purpose: match[2] as StatusPurpose } : undefined;
  }

  private fetchRemote(url: string): Promise<string> {
    const cached = this.cache.get(url);
    if (cached && cached.freshUntil > Date.now()) return Promise.resolve(cached.body);
    return this.remoteFetches.run(url, () => this.fetchRemoteOnce(url, cached));
  }

  private async fetchRemoteOnce(url: string, cached: Cached | undefined): Promise<string> {
    // The URL is in a credential whose issuer is trusted, but an agency may put status entries of its own in what
    // it issues, and anyone may then have it verified: the host must be public unless the operator lists it.
    if (this.production && !url.startsWith('https://')) throw new Error('status list URL is not https');
    const target = new URL(url);
    let response: BoundedResponse;
    try {
      response = await boundedGet(target, {
        headers: {
          accept: 'application/statuslist+jwt, application/vc+jwt',
          ...(cached?.etag ? { 'if-none-match': cached.etag } : {}),
        },
        timeoutMs: TIMEOUT_MS,
        maxBytes: MAX_BYTES,
        privateHostAllowed: privateHostListed(this.privateHosts, target),
      });
    } catch (error) {
      // A refused host and a name that does not exist get one answer: which internal names exist is not told.
      if (isUnresolvableHost(error)) throw new Error('status list host is unknown or not public');
      throw new StatusListUnreachable(error);
    }
    const cacheControl = response.headers['cache-control'] ?? '';
    const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1] ?? 0);
    if (response.status === 304 && cached) {
      cached.freshUntil = Date.now() + remoteListFreshMs(cached.body, maxAge);
      return cached.body;
    }
    if (response.tooLarge) throw new Error('status list too large');
    if (response.status !== 200 || !response.body) throw new Error(`HTTP ${response.status}`);
    const body = response.body.toString('utf8').trim();
    this.cache.set(url, { body, etag: response.headers.etag, freshUntil: Date.now() + remoteListFreshMs(body, maxAge) });
    return body;
  }
}
