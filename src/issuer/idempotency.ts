import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BackgroundJob, badRequest, ProblemError } from '../common/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { HmacKeys, KeyService } from '../keys/index.js';
import { Database, IdempotencyRepository, type Tx } from '../persistence/index.js';
import type { Agency } from './agencies/agency.repository.js';

/** RFC 9110 token-ish: visible ASCII, as Stripe and the IETF Idempotency-Key draft use. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const PURGE_INTERVAL_MS = 3_600_000;
/**
 * A request still in flight after this long was most likely cut (a process killed before it answered): its
 * 409 then says when the key is free again instead of "retry in a second" for up to the whole lock.
 */
const INTERRUPTED_AFTER_MS = 10_000;

/** What `IdempotencyService.idempotent` hands to a handler that can store its response in its own transaction. */
export interface IdempotentRequestScope {
  /** Stores the response inside `tx`, so the work and its idempotency record commit together. */
  complete(tx: Tx, body: unknown): Promise<void>;
}

type IdempotentRequest = FastifyRequest & { agency?: Agency };

/** JSON with object members sorted, so the same request hashes the same whatever its member order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `attempt` names this run of the request: only it may complete or abandon the record (see takeOver). */
type Begin = { replay: { statusCode: number; body: unknown } } | { started: true; attempt: number };

/**
 * Idempotency-Key records per caller and key: the first request runs, a retry with the same body gets
 * the first response back, the same key with another body is 422, and a retry while the first is still
 * running is 409. Responses are sealed by src/keys and forgotten after IDEMPOTENCY_TTL_SECONDS.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('IdempotencyService');
  private readonly purgeJob = new BackgroundJob(this.logger, 'idempotency purge');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly keys: KeyService,
    private readonly macs: HmacKeys,
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      void this.purgeJob.run(() => this.repository.purgeExpired(Date.now()));
    }, PURGE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * What a key's request is compared by. Keyed (HMAC under a deployment secret), not a plain hash: the body holds a
   * citizen's claims, and a plain digest kept for a day would let anyone reading the database confirm a guess of them.
   */
  async fingerprint(method: string, route: string, body: unknown): Promise<string> {
    const mac = await this.macs.hmacSha256('idempotency-request', `${method} ${route}\n${canonicalJson(body ?? null)}`);
    return mac.toString('hex');
  }

  async begin(scope: string, key: string, requestHash: string): Promise<Begin> {
    const now = Date.now();
    const record = {
      scope,
      key,
      requestHash,
      state: 'in_flight' as const,
      statusCode: null,
      sealedResponse: null,
      lockedUntil: now + this.config.idempotency.inFlightSeconds * 1000,
      expiresAt: now + this.config.idempotency.ttlSeconds * 1000,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.repository.insert(record)) return { started: true, attempt: record.lockedUntil };
      const existing = await this.repository.find(scope, key);
      if (!existing) continue; // abandoned meanwhile
      const stale = existing.expiresAt < now || (existing.state === 'in_flight' && existing.lockedUntil < now);
      if (stale) {
        if (await this.repository.takeOver(record, now)) return { started: true, attempt: record.lockedUntil };
        continue;
      }
      if (existing.requestHash !== requestHash) {
        throw new ProblemError(
          422,
          'idempotency_key_reused',
          'Idempotency-Key already used',
          'This Idempotency-Key was used with a different request',
        );
      }
      if (existing.state !== 'done' || !existing.sealedResponse || !existing.statusCode) {
        throw inFlight(existing.lockedUntil - this.config.idempotency.inFlightSeconds * 1000, existing.lockedUntil, now);
      }
      const body = await this.keys.openJson<unknown>(existing.sealedResponse, sealContext(scope, key));
      // The record may belong to a group commit whose WAL flush is still running (its rows are visible
      // before they are durable, ADR 7 addendum 2): hand nothing out before they are on stable storage.
      await this.db.durable();
      return { replay: { statusCode: existing.statusCode, body } };
    }
    throw inFlight();
  }

  /**
   * Stores the response. Throws (so the caller's transaction rolls back) when another attempt took the
   * key over meanwhile: a request that outlived IDEMPOTENCY_IN_FLIGHT_SECONDS must not also commit.
   */
  async complete(
    tx: Tx | undefined,
    scope: string,
    key: string,
    attempt: number,
    statusCode: number,
    body: unknown,
  ): Promise<void> {
    // A JSON round trip first: the replay must be byte-for-byte what the first answer serialised to.
    const sealed = await this.keys.sealJson(JSON.parse(JSON.stringify(body ?? null)), sealContext(scope, key));
    if (!(await this.repository.complete(tx, scope, key, attempt, statusCode, sealed))) throw inFlight();
  }

  /**
   * Idempotency-Key for an agency endpoint (called by its handler, after AgencyGuard): without the header
   * `handler` just runs; with it, a retry of a completed request replays the stored response
   * (`Idempotent-Replayed: true`), a concurrent one gets 409, and `handler` gets the scope with which to
   * store its response in its own transaction (else it is stored once `handler` returns). Only successful
   * responses are stored; a failed request frees its key for a retry. A plain call rather than a Nest
   * interceptor: an interceptor puts every request of the route, with or without the header, through an
   * rxjs pipeline (about 5 % of an HTTP issuance's CPU).
   */
  async idempotent<T>(
    request: FastifyRequest,
    reply: FastifyReply,
    statusCode: number,
    handler: (scope: IdempotentRequestScope | undefined) => Promise<T>,
  ): Promise<T | unknown> {
    const header = request.headers['idempotency-key'];
    if (header === undefined) return handler(undefined);
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters', [
        { path: 'Idempotency-Key', message: 'invalid' },
      ]);
    }
    const agency = (request as IdempotentRequest).agency;
    if (!agency) return handler(undefined);
    const scope = `agency:${agency.id}`;
    const key = header;
    // The route and the values of its path parameters: one key sent to /credentials/A/status and then to
    // /credentials/B/status is two requests (the template alone replayed A's answer for B, which stayed unrevoked).
    const params = (request.params ?? {}) as Record<string, unknown>;
    const route = request.routeOptions.url ?? request.url;
    const target = Object.keys(params).length > 0 ? `${route} ${JSON.stringify(params)}` : route;
    const hash = await this.fingerprint(request.method, target, request.body);
    const begun = await this.begin(scope, key, hash);
    if ('replay' in begun) {
      void reply.header('idempotent-replayed', 'true');
      return begun.replay.body;
    }
    let completed = false;
    const scoped: IdempotentRequestScope = {
      complete: async (tx: Tx, body: unknown) => {
        await this.complete(tx, scope, key, begun.attempt, statusCode, body);
        completed = true;
      },
    };
    try {
      const body = await handler(scoped);
      if (!completed) await this.complete(undefined, scope, key, begun.attempt, statusCode, body);
      return body;
    } catch (error) {
      // Also when the answer was written inside the handler's transaction: that transaction may have rolled
      // back after it. `abandon` frees only a record still in flight for this attempt, never a stored answer.
      await this.abandon(scope, key, begun.attempt).catch(() => undefined);
      throw error;
    }
  }

  abandon(scope: string, key: string, attempt: number): Promise<void> {
    return this.repository.abandon(scope, key, attempt);
  }
}

const sealContext = (scope: string, key: string) => `idempotency:${scope}:${key}`;
/**
 * 409 for a key whose request is in flight. Given when that request began and until when it holds the key:
 * a request held for long was most likely cut, and the answer says when the key is free again.
 */
function inFlight(startedAt?: number, lockedUntil?: number, now = Date.now()): ProblemError {
  if (startedAt === undefined || lockedUntil === undefined || now - startedAt < INTERRUPTED_AFTER_MS) {
    return new ProblemError(
      409,
      'idempotency_request_in_progress',
      'Request in progress',
      'A request with this Idempotency-Key is still being processed',
      {},
      1,
    );
  }
  const freeInSeconds = Math.max(1, Math.ceil((lockedUntil - now) / 1000));
  return new ProblemError(
    409,
    'idempotency_request_in_progress',
    'Request in progress',
    `A request with this Idempotency-Key began ${Math.floor((now - startedAt) / 1000)} s ago and has not finished: ` +
      `it was interrupted or is still running. The key is free for a retry in ${freeInSeconds} s at the latest`,
    {},
    freeInSeconds,
  );
}
