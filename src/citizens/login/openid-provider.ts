import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Provider, ProviderClient } from 'oidc-provider';
import {
  BackgroundJob,
  connectionAddressKey,
  DatabaseOutage,
  isDatabaseConnectivityError,
  isTransientConflict,
  merged,
  secretsEqual,
  sha256Hex,
  THROTTLER_STORAGE,
} from '../../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { HmacKeys, KeyService } from '../../keys/index.js';
import { Catalogue, jwkThumbprint } from '../../credentials/index.js';
import { ID_TOKEN_SIGNING_ALGS, type IdTokenSigningAlg } from './client-registration.js';
import { CitizenLoginRepository } from './login.repository.js';
import { OidcClientRepository, OidcRecordRepository } from './provider-records.repository.js';
import { loadOidcProvider } from './oidc-library.js';
import { storageAdapter } from './provider-adapter.js';
import { OIDC_PREFIX, providerConfiguration, type AccountLookup } from './provider-config.js';
import { authorizationFormAnswer } from './authorization-form.js';
import { pairwiseSubject, SUBJECT_KEY_NAME } from './subject.js';
import { LOGIN_SCOPES, scopeTableProblems } from './scopes.js';

/** Seconds a client is asked to wait when the database is down, as the problem filter's 503 asks. */
const OUTAGE_RETRY_AFTER_SECONDS = 5;
/** Provider endpoints that create state or cost a key operation: limited per client IP like the other OAuth routes. */
const RATE_LIMITED = new Set(['/request', '/auth', '/token', '/me']);
/**
 * A portal's back-end pushes every login's request (PAR), redeems its code and reads userinfo from one address: those take
 * this many times the per-IP budget, so a busy portal is not refused (a code lives 60 s, a 429 asks for 60).
 */
const BACK_END_ROUTES = new Set(['/request', '/token', '/me']);
const BACK_END_RATE_FACTOR = 20;
/** Where each ID-token key's id is kept (the ES256 one under its name from before RS256 existed). */
const ID_TOKEN_KEY_SETTINGS: Record<IdTokenSigningAlg, string> = {
  ES256: 'id-token-signing-key',
  RS256: 'id-token-signing-key-rs256',
};

/**
 * The OpenID Provider (oidc-provider, a Koa app) mounted in the Fastify app under /oidc. Its storage, keys and
 * accounts are ours: records in the database through `storageAdapter`, the ID-token key in src/keys (signing
 * through ExternalSigningKey), accounts as pseudonyms whose claims exist only for the login's retention.
 */
@Injectable()
export class OpenIdProvider implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('OpenIdProvider');
  private readonly purgeJob = new BackgroundJob(this.logger, 'OpenID Provider purge');
  private purgeTimer: NodeJS.Timeout | undefined;
  private instance: Provider | undefined;
  readonly issuer: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly keys: KeyService,
    private readonly hmacKeys: HmacKeys,
    private readonly records: OidcRecordRepository,
    private readonly clients: OidcClientRepository,
    private readonly logins: CitizenLoginRepository,
    private readonly catalogue: Catalogue,
    @Inject(THROTTLER_STORAGE) private readonly throttler: ThrottlerStorage,
    private readonly outage: DatabaseOutage,
  ) {
    this.issuer = `${publicBaseUrl(config)}${OIDC_PREFIX}`;
  }

  get provider(): Provider {
    if (!this.instance) throw new Error('The OpenID Provider is not started');
    return this.instance;
  }

  /** Pairwise `sub` of an account for a portal's sector (the provider's `pairwiseIdentifier`). */
  private pairwiseSubject(accountId: string, sector: string): Promise<string> {
    return pairwiseSubject((message) => this.hmacKeys.hmacSha256(SUBJECT_KEY_NAME, message), sector, accountId);
  }

  /** The pairwise `sub` a portal's ID tokens carry for an account (for the audit trail). */
  async subjectFor(accountId: string, clientId: string): Promise<string | undefined> {
    const client = await this.provider.Client.find(clientId);
    return client ? this.pairwiseSubject(accountId, sectorOf(client)) : undefined;
  }

  async onModuleInit(): Promise<void> {
    const problems = scopeTableProblems(LOGIN_SCOPES, (typeId) => this.catalogue.get(typeId));
    if (problems.length) {
      throw new Error(
        `The login scope table does not fit the catalogue: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      );
    }
    // The keys are found or made while the library loads (the import and an RSA key are each ~200 ms).
    const keyIds = this.signingKeyIds();
    let library: Awaited<ReturnType<typeof loadOidcProvider>>;
    try {
      library = await loadOidcProvider(this.logger);
    } finally {
      // A failed import must not leave the keys' promise rejected with nobody listening.
      keyIds.catch(() => undefined);
    }
    const adapter = storageAdapter({
      records: this.records,
      clients: this.clients,
      seal: (value, context) => this.keys.sealJson(value, context),
      open: (sealed, context) => this.keys.openJson(sealed, context),
      alreadyUsed: (model) =>
        model === 'PushedAuthorizationRequest'
          ? new library.errors.InvalidRequestUri('request_uri is invalid, expired, or was already used')
          : new library.errors.InvalidGrant('grant already used'),
      now: () => new Date(),
      guard: (work) => this.unavailableOnOutage(library, work),
    });
    const provider = new library.Provider(
      this.issuer,
      providerConfiguration({
        issuer: this.issuer,
        adapter,
        signingKeys: await this.signingKeys(library.ExternalSigningKey, await keyIds),
        cookieKeys: this.config.oidc.cookieKeys ?? [await this.derivedCookieKey()],
        claimsRetentionSeconds: this.config.oidc.claimsRetentionSeconds,
        policy: library.interactionPolicy,
        findAccount: (_ctx, accountId, token) => this.unavailableOnOutage(library, () => this.findAccount(accountId, token)),
        pairwiseIdentifier: (_ctx, accountId, client) =>
          this.unavailableOnOutage(library, () => this.pairwiseSubject(accountId, sectorOf(client))),
      }),
    );
    // The maintainers' hook for secrets stored one-way (panva/node-oidc-provider#631): `client_secret` in the
    // metadata is the SHA-256 of the secret, and the presented secret is hashed before a constant-time compare.
    // HS* algorithms and client_secret_jwt, which need the secret itself, are not enabled.
    provider.Client.prototype.compareClientSecret = function (this: ProviderClient, actual: string) {
      return typeof this.clientSecret === 'string' && secretsEqual(sha256Hex(actual), this.clientSecret);
    };
    // URLs are built from PUBLIC_URL (forwarded headers are set from it for every request, see mount).
    provider.proxy = true;
    provider.use(async (ctx, next) => {
      await next();
      // A database outage met inside the provider (past Nest's filter): retry when it is back, as our other 503s say.
      if (ctx.status === 503) ctx.set('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
      // Paths the provider does not serve: a problem document like every other unknown path.
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.type = 'application/problem+json';
        ctx.body = { type: 'urn:chancery:problem:not_found', title: 'Not found', status: 404, code: 'not_found' };
      }
    });
    provider.on('server_error', (_ctx, error) => this.logger.error({ err: error }, 'OpenID Provider error'));
    this.instance = provider;
    this.mount(this.adapterHost.httpAdapter.getInstance<FastifyInstance>(), provider);

    this.purgeTimer = setInterval(() => void this.purgeJob.run(() => this.purgeNow()), this.config.oidc.purgeIntervalMs);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /**
   * Runs a storage call of the provider. The provider's Koa stack answers what it throws, not Nest's problem filter:
   * a database outage (or a transient conflict) would be a 500 server_error with a stack logged per request. It is
   * rethrown as the RFC 6749 temporarily_unavailable (503 at the token and other endpoints, a redirect with that
   * error at the authorization endpoint), and the outage is reported once, as the filter does.
   */
  private async unavailableOnOutage<T>(library: { errors: typeof import('oidc-provider').errors }, work: () => Promise<T>) {
    try {
      return await work();
    } catch (error) {
      const conflict = isTransientConflict(error);
      if (!conflict && !isDatabaseConnectivityError(error)) throw error;
      if (!conflict) this.outage.reportDown(error);
      const unavailable = new library.errors.OIDCProviderError(503, 'temporarily_unavailable');
      unavailable.expose = true;
      unavailable.error_description = 'The service is temporarily unavailable; retry later';
      throw unavailable;
    }
  }

  /** Deletes expired provider records, login pages, and login claims past their retention. */
  async purgeNow(now = new Date()): Promise<{ records: number; claims: number; logins: number }> {
    const records = await this.records.purgeExpired(now);
    const { claims, logins } = await this.logins.purge(now, now);
    if (records || claims || logins) this.logger.log({ records, claims, logins }, 'OpenID Provider state purged');
    return { records, claims, logins };
  }

  /**
   * The account behind a code or an access token: its pseudonymous id and the claims its login released,
   * while their retention lasts (afterwards only `sub`). Without a token (during the authorization request)
   * there are no claims to give.
   */
  private async findAccount(accountId: string, token?: { grantId?: string }): Promise<AccountLookup> {
    const stored = token?.grantId ? await this.logins.claims(token.grantId, new Date()) : null;
    const claims =
      stored && stored.accountId === accountId
        ? await this.keys.openJson<Record<string, unknown>>(stored.claimsSealed, `login-claims:${stored.grantId}`)
        : {};
    return { accountId, claims: async () => merged(claims, { sub: accountId }) };
  }

  /**
   * The ID-token keys, one per algorithm a portal may register (ES256, RS256): each created once per deployment in
   * src/keys; racing replicas adopt the first one stored.
   */
  private async signingKeys(External: typeof import('oidc-provider').ExternalSigningKey, keyIds: string[]) {
    return Promise.all(ID_TOKEN_SIGNING_ALGS.map((alg, i) => this.signingKey(External, alg, keyIds[i]!)));
  }

  /**
   * The ID-token keys' ids, one per algorithm a portal may register (in ID_TOKEN_SIGNING_ALGS' order): each made
   * once per deployment in src/keys (an RSA key takes ~200 ms, off the event loop); racing replicas adopt the
   * first one stored.
   */
  private signingKeyIds(): Promise<string[]> {
    return Promise.all(
      ID_TOKEN_SIGNING_ALGS.map(async (alg) => {
        const setting = ID_TOKEN_KEY_SETTINGS[alg];
        const stored = (await this.logins.setting(setting))?.value;
        if (stored) return stored;
        const created = await this.keys.createKey(alg, 'service-account', 'oidc:id-token');
        return this.logins.settingOnce(setting, created.id);
      }),
    );
  }

  private async signingKey(External: typeof import('oidc-provider').ExternalSigningKey, alg: IdTokenSigningAlg, keyId: string) {
    const key = await this.keys.getKey(keyId);
    const publicKey = await this.keys.publicKeyObject(keyId);
    const keys = this.keys;
    const signingKeyId = keyId;
    return new (class extends External {
      constructor() {
        super();
        this.kid = jwkThumbprint({ ...key.publicJwk });
        this.alg = alg;
      }
      override keyObject() {
        return publicKey;
      }
      override async sign(data: Uint8Array) {
        return keys.signJws(signingKeyId, data);
      }
    })();
  }

  /** Without OIDC_COOKIE_KEYS, a cookie key derived from a deployment secret in src/keys (shared by replicas). */
  private async derivedCookieKey(): Promise<string> {
    return (await this.hmacKeys.hmacSha256('citizen-login-cookies', 'cookie-key-v1')).toString('base64url');
  }

  /**
   * One Fastify route hands every /oidc/* request to the provider, before Fastify parses any body (the
   * provider reads and limits bodies itself). Our security headers (CSP, frame options) are copied onto the
   * raw response, and the provider sees the public scheme and host whatever the request's Host header says.
   * The login pages under /oidc/interaction are Nest routes, which Fastify's router prefers to the wildcard.
   */
  private mount(fastify: FastifyInstance, provider: Provider): void {
    const callback = provider.callback();
    const publicUrl = new URL(publicBaseUrl(this.config));
    const basePath = publicUrl.pathname.replace(/\/$/, '');
    const perMinute = this.config.platform.rateLimitPerMinute;
    const bodyLimitBytes = this.config.http.bodyLimitBytes;
    fastify.route({
      method: ['GET', 'POST', 'OPTIONS'],
      url: `${OIDC_PREFIX}/*`,
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        const raw = request.raw as IncomingMessage & { originalUrl?: string };
        const path = (raw.url ?? '/').slice(OIDC_PREFIX.length) || '/';
        // oidc-provider's router ignores case and one trailing slash (/TOKEN/ is /token): so does the count.
        const route = providerRoute(path);
        const limit = BACK_END_ROUTES.has(route) ? perMinute * BACK_END_RATE_FACTOR : perMinute;
        if (perMinute > 0 && RATE_LIMITED.has(route) && (await this.overLimit(route, request.ip, limit))) {
          reply.header('retry-after', '60').header('cache-control', 'no-store');
          return reply.status(429).send({ error: 'invalid_request', error_description: 'Too many requests; retry later' });
        }
        if (request.method === 'POST' && route === '/auth') {
          const answer = await authorizationFormAnswer(request.raw, `${basePath}${OIDC_PREFIX}/auth`, bodyLimitBytes);
          void reply.header('cache-control', 'no-store');
          if (answer.status === 303) return reply.redirect(answer.location, 303);
          return reply.status(answer.status).send({ error: answer.error, error_description: answer.description });
        }
        reply.hijack();
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value !== undefined) reply.raw.setHeader(name, value as string);
        }
        raw.originalUrl = `${basePath}${OIDC_PREFIX}${path}`;
        raw.url = path;
        raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
        raw.headers['x-forwarded-host'] = publicUrl.host;
        raw.headers['x-forwarded-for'] = request.ip;
        await callback(raw, reply.raw);
      },
      handler: async () => undefined,
    });
  }

  private async overLimit(route: string, ip: string, perMinute: number): Promise<boolean> {
    try {
      // Per IPv4 address or IPv6 /64, as the platform's guard counts.
      const result = await this.throttler.increment(
        `ip:oidc:${route}:${connectionAddressKey(ip)}`,
        60_000,
        perMinute,
        0,
        'default',
      );
      return result.isBlocked;
    } catch {
      // As the platform's guard: a counter store that is down does not stop logins.
      return false;
    }
  }
}

/**
 * The endpoint a provider path names, as oidc-provider's router matches it: case-insensitive, one trailing slash, the
 * path ending at a query or a fragment (the platform refuses fragments before this; the count must not depend on it).
 */
export function providerRoute(path: string): string {
  const route = (path.split(/[?#]/)[0] ?? '').toLowerCase();
  return route.length > 1 && route.endsWith('/') ? route.slice(0, -1) : route;
}

/** The pairwise sector: the host of the portal's redirect URIs (all on one host, checked at registration). */
function sectorOf(client: ProviderClient): string {
  if (!client.sectorIdentifier) throw new Error(`Client ${client.clientId} has no sector identifier`);
  return client.sectorIdentifier;
}
