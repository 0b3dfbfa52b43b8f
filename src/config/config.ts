import { z } from 'zod';
import { availableParallelism } from 'node:os';
import { secretStrengthProblems } from './secret-strength.js';
import {
  isChecksummedAddress,
  parseFounders,
  parsePeerUrls,
  parseReasonCodes,
  type ConsortiumConfig,
} from './consortium-config.js';

export type { ConsortiumConfig } from './consortium-config.js';

/** Raised at start-up; lists every bad variable at once so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The longest OID4VCI access-token life OID4VCI_ACCESS_TOKEN_TTL_SECONDS may set (purges count on it). */
export const MAX_ACCESS_TOKEN_SECONDS = 3_600;
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const base64Key32 = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded as base64');

const address = z
  .string()
  .refine(isChecksummedAddress, 'must be a 0x-prefixed address (mixed case only with a valid EIP-55 checksum)');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  SQLITE_PATH: z.string().min(1).optional(),

  CHAIN_RPC_URL: z.url().optional(),
  // Stored as a 32-bit integer beside every chain write (PostgreSQL `integer`): a larger id is refused here,
  // not by the first insert after start-up.
  CHAIN_ID: z.coerce.number().int().positive().max(2_147_483_647, 'at most 2147483647').default(7777),
  CHAIN_NETWORK_NAME: z
    .string()
    .regex(/^[a-z][a-z0-9]*$/, 'lower-case letters and digits, starting with a letter')
    .default('govchain'),
  CHAIN_REGISTRY_ADDRESS: address.optional(),
  CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: address.optional(),
  CHAIN_STATUS_ANCHOR_ADDRESS: address.optional(),
  // consortium (issue 15, ADR 15): the governance contract; its registries are read from it.
  CHAIN_CONSORTIUM_ADDRESS: address.optional(),
  DEPARTMENT_NAME: z
    .string()
    .min(1)
    .refine((value) => Buffer.byteLength(value, 'utf8') <= 64, 'at most 64 bytes')
    .default('Chancery department'),
  CONSORTIUM_FOUNDERS: z
    .string()
    .optional()
    .transform((value, ctx) => parseFounders(value ?? '', ctx)),
  // Unset: a majority of the founding members (1 for a consortium of one); a lone founder of many is no consortium.
  CONSORTIUM_THRESHOLD: z.coerce.number().int().min(1).max(50).optional(),
  // joint approval (issue 16): other departments' base URLs, to fetch application content from the issuer.
  CONSORTIUM_PEER_URLS: z
    .string()
    .optional()
    .transform((value, ctx) => parsePeerUrls(value ?? '', ctx)),
  APPROVAL_REASON_CODES: z
    .string()
    .optional()
    .transform((value, ctx) => parseReasonCodes(value ?? '', ctx)),
  DATA_SHARING_ENFORCED: bool.optional(),
  VCT_BASE_URL: z.url().optional(),
  CHAIN_AUDIT_ANCHOR_ADDRESS: address.optional(),
  CHAIN_EMBEDDED_PORT: z.coerce.number().int().min(0).max(65535).default(8545),
  CHAIN_EMBEDDED_RESTART_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  CHAIN_PRIORITY_FEE_WEI: z.coerce.bigint().nonnegative().default(0n),
  CHAIN_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),

  KMS_MASTER_KEY: base64Key32.optional(),
  KMS_SIGNING_THREAD: bool.optional(),
  OPERATOR_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  DEMO_AGENCY: bool.optional(),

  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  DID_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  // h3-oid4vp: bounded DID cache, OID4VP response limits, verdict retention, webhook targets.
  DID_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  OID4VP_MAX_VP_TOKEN_ENTRIES: z.coerce.number().int().min(1).max(100).default(10),
  OID4VP_MAX_ISSUERS_PER_RESPONSE: z.coerce.number().int().min(1).max(100).default(5),
  VERDICT_RETENTION_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
  VERDICT_MAX_UNREAD_SECONDS: z.coerce.number().int().min(60).max(2_592_000).default(86_400),
  PRESENTATION_PURGE_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  PRESENTATION_REQUEST_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  STATUS_PUBLISH_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(2_000),
  STATUS_LIST_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  STATUS_LIST_PRIVATE_HOSTS: z.string().max(4_000).optional(),
  STATUS_VERIFY_ANCHOR: bool.default(true),
  // Status publisher lease and reconciliation; idempotent POSTs (h6).
  STATUS_PUBLISHER_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  STATUS_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
  IDEMPOTENCY_IN_FLIGHT_SECONDS: z.coerce.number().int().min(5).max(3_600).default(120),
  VERIFIER_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  // Verification hardening (h2-verify).
  VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION: z.coerce.number().int().min(1).max(100).default(10),
  VERIFIER_MAX_ISSUERS_PER_REQUEST: z.coerce.number().int().min(1).max(100).default(5),
  // Trust anchors beside the chain registry (issue 13): issuer DIDs and X.509 roots (PEM, \n may be escaped).
  TRUST_ANCHOR_DIDS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(/[,\s]+/)
        .map((did) => did.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^did:(key|jwk|web):[A-Za-z0-9._:%-]+$/, 'each entry must be a did:key, did:jwk or did:web'))),
  TRUST_ANCHOR_X509_PEM: z
    .string()
    .transform((value) => value.replace(/\\n/g, '\n'))
    .refine((value) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(value), 'must hold PEM certificates')
    .optional(),
  DID_WEB_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  DID_WEB_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(65_536),
  DID_WEB_PRIVATE_HOSTS: z.string().max(4_000).optional(),
  DID_KEY_VALIDITY_DAYS: z.coerce.number().int().min(1).max(36_500).default(3_650),

  // HTTP platform (h4): timeouts, connection cap, rate limits, docs/metrics exposure.
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  HTTP_CONNECTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(120_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(72_000),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(1_024),
  // Unset: 256 (a quarter of HTTP_MAX_CONNECTIONS' default) when clients connect directly, off behind a trusted proxy (every connection is the proxy's).
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  HTTP_TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/,
      'true, false, a hop count, or comma-separated proxy IPs/CIDRs',
    )
    .default('false'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).optional(),
  RATE_LIMIT_PER_RESOURCE_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).optional(),
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).max(100).default('chancery:rl:'),
  PAGE_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  DOCS_ENABLED: bool.optional(),
  ISSUE_KEY_IN_PATH: bool.optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // Replicas and cluster mode (issue 11).
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
  CLUSTER_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  // Holder proofs and OID4VCI (key proofs, DPoP, KB-JWTs share HOLDER_PROOF_MAX_AGE_SECONDS).
  HOLDER_PROOF_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  OID4VCI_WALLET_REDIRECT_URIS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((uri) => uri.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url())),
  OID4VCI_PURGE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  // Token lifetimes (ADR 18): access tokens, refresh tokens of deferred offers, re-delivery of deferred credentials.
  OID4VCI_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(MAX_ACCESS_TOKEN_SECONDS).default(600),
  OID4VCI_REFRESH_TOKEN_MAX_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(30 * 86_400),
  OID4VCI_REDELIVERY_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
  OID4VCI_DEFERRED_NOTIFICATION_ID: bool.optional(),
  // Demo identity provider of wallet-started applications (issue 16): a JSON file of citizens.
  CITIZEN_DIRECTORY_FILE: z.string().min(1).optional(),
  // Run-time credential catalogue: how often a replica checks the table for types changed elsewhere.
  CATALOGUE_REFRESH_MS: z.coerce.number().int().min(100).max(3_600_000).default(2_000),
  // Wallet login for web applications: the OpenID Provider under /oidc (issue 17).
  OIDC_COOKIE_KEYS: z
    .string()
    .optional()
    .transform((value) =>
      value === undefined
        ? undefined
        : value
            .split(',')
            .map((key) => key.trim())
            .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1).optional()),
  OIDC_CLAIMS_RETENTION_SECONDS: z.coerce.number().int().min(60).max(86_400).default(600),
  OIDC_PURGE_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  // Tamper-evident audit trail (issue 17, ADR 16): Merkle roots of new entries anchored on chain.
  AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  AUDIT_ANCHOR_MAX_ENTRIES: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

export type Env = z.infer<typeof envSchema>;

/** Every environment variable the service reads (`.env.example` documents each; src/config/env-example.spec.ts). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof Env)[];

export interface AppConfig {
  env: Env['NODE_ENV'];
  /** What the operator should know at start-up but that does not stop it (logged once, at warn). */
  warnings: string[];
  http: { host: string; port: number; publicUrl: string | undefined; bodyLimitBytes: number };
  logLevel: Env['LOG_LEVEL'];
  dataDir: string;
  database: { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };
  chain: {
    /** No RPC URL means: start an embedded hardhat node as a child process. */
    rpcUrl: string | undefined;
    chainId: number;
    networkName: string;
    /** Contract addresses given by configuration; the rest are deployed once and recorded. */
    contracts: {
      EthereumDIDRegistry?: string;
      TrustedIssuerRegistry?: string;
      StatusListAnchor?: string;
      AuditAnchor?: string;
    };
    consortium: ConsortiumConfig;
    embeddedPort: number;
    embeddedRestartMs: number;
    priorityFeeWei: bigint;
    pollMs: number;
  };
  keys: { masterKey: Buffer | undefined; signingThread: boolean };
  operatorApiKey: string | undefined;
  demoAgency: boolean;
  outboxPollMs: number;
  didCacheTtlSeconds: number;
  didCacheMaxEntries: number;
  oid4vp: {
    maxVpTokenEntries: number;
    maxIssuersPerResponse: number;
    /** Verdict claims are purged this long after the verdict was first read. */
    verdictRetentionSeconds: number;
    /** …and at the latest this long after the answer, read or not. */
    verdictMaxUnreadSeconds: number;
    purgeIntervalMs: number;
    /** An answered request's row (ids, status, times; its claims long purged) is deleted this long after the purge. */
    requestRetentionDays: number;
    /** Webhooks to loopback/private addresses (never in production). */
    webhookAllowPrivate: boolean;
  };
  didKeyValidityDays: number;
  platform: PlatformConfig;
  /** How often the reconciler finishes half-done work; how many node:cluster workers main.ts forks. */
  replicas: { reconcileIntervalMs: number; clusterWorkers: number };
  status: {
    publishIntervalMs: number;
    maxAgeSeconds: number;
    /** Other issuers' list hosts that may be on private addresses: in production those listed, else all. */
    remotePrivateHosts: readonly string[] | 'all';
    verifyAnchor: boolean;
    publisherLeaseMs: number;
    reconcileIntervalMs: number;
  };
  /** Idempotency-Key records: how long a response is replayed; how long an unfinished request blocks its key. */
  idempotency: { ttlSeconds: number; inFlightSeconds: number };
  /** Accepted age of a holder's proof iat (OID4VCI key proofs, DPoP proofs, KB-JWTs). */
  holderProofMaxAgeSeconds: number;
  /** Wallet redirect URIs a pushed authorization request may name (exact match); none: no PAR accepted. */
  oid4vci: {
    walletRedirectUris: string[];
    purgeIntervalMs: number;
    /** Access-token lifetime. */
    accessTokenTtlSeconds: number;
    /** Longest life of a refresh-token family (deferred offers only; also bounded by the offer's expiry). */
    refreshTokenMaxSeconds: number;
    /** How long an issued deferred credential is re-delivered to the same holder unless the wallet notifies first. */
    redeliverySeconds: number;
    /** Send notification_id in deferred credential responses (OID4VCI 1.0 §9.2; @openid4vc ≤ 0.4.6 wallets refuse it). */
    deferredNotificationId: boolean;
  };
  /** The demo identity provider's citizens (a JSON file) for wallet-started applications; unset: none. */
  citizenDirectoryFile: string | undefined;
  /** How often the run-time catalogue checks for types created, versioned or retired by another replica. */
  catalogue: { refreshMs: number };
  oidc: {
    /** Keys that sign the OpenID Provider's cookies, newest first; unset: one derived through src/keys. */
    cookieKeys: string[] | undefined;
    /** Claims of a login are kept this long for the code exchange and userinfo, then purged. */
    claimsRetentionSeconds: number;
    purgeIntervalMs: number;
  };
  /** Anchoring of the audit log: period (0: only on demand) and the largest range one anchor covers. */
  audit: { anchorIntervalMs: number; anchorMaxEntries: number };
  verifier: {
    clockSkewSeconds: number;
    /** Distinct issuer DIDs one verification request may make us resolve. */
    maxIssuersPerRequest: number;
    /** JWT VCs in one JWT VP. */
    maxCredentialsPerPresentation: number;
    /** Issuers trusted beside the chain registry: DIDs, and PEM certificates of X.509 roots for x5c chains. */
    trustAnchors: { dids: string[]; x509Pem: string | undefined };
    /** did:web documents: fetched over https (http only outside production), bounded in time and size. */
    didWeb: { timeoutMs: number; maxBytes: number; allowHttp: boolean; privateHosts: readonly string[] | 'all' };
  };
}

/** HTTP platform limits (h4): see docs/notes/h4-platform.md. */
export interface PlatformConfig {
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** Sockets one IPv4 address or IPv6 /64 may hold at once; 0: no limit. */
  maxConnectionsPerAddress: number;
  /** Fastify trustProxy: which X-Forwarded-For hops to believe for the client IP (rate limits). */
  trustProxy: boolean | number | string;
  redisUrl: string | undefined;
  /** Requests per minute per client IP and route; 0 disables. */
  rateLimitPerMinute: number;
  /** Requests per minute per offer / request / pre-authorized code and route; 0 disables. */
  rateLimitPerResourcePerMinute: number;
  rateLimitKeyPrefix: string;
  /** How often the login, records and desk pages poll their request, unless its rate limits allow less often. */
  pagePollMs: number;
  docsEnabled: boolean;
  /**
   * POST /conformance/:apiKey/credentials/issue: the agency key in the path, for test-suite clients that send no
   * header (the W3C Bitstring Status List suite). Off unless ISSUE_KEY_IN_PATH=true.
   */
  issueKeyInPath: boolean;
  /** Bearer token for /metrics; unset: open outside production, closed (404) in production. */
  metricsToken: string | undefined;
}

/**
 * Hosts named by others (a did:web, a status entry) that may be on private, loopback or link-local addresses: outside
 * production all (tests serve them on loopback), in production only those the operator lists, comma- or space-separated.
 */
const privateHostList = (env: string, listed: string | undefined): readonly string[] | 'all' =>
  env === 'production'
    ? (listed ?? '')
        .split(/[\s,]+/)
        // An IPv6 address with or without its URL brackets: compared without them.
        .map((host) =>
          host
            .trim()
            .toLowerCase()
            .replace(/^\[|\]$/g, ''),
        )
        .filter(Boolean)
    : 'all';

export function loadConfig(source: Record<string, string | undefined>): AppConfig {
  // Empty strings in .env files mean "unset", not "invalid".
  const env = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production') {
    if (!e.KMS_MASTER_KEY) problems.push('KMS_MASTER_KEY: required in production');
    if (!e.OPERATOR_API_KEY) problems.push('OPERATOR_API_KEY: required in production');
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production');
    if (!e.CHAIN_RPC_URL) problems.push('CHAIN_RPC_URL: required in production (the embedded chain is for development)');
    if (e.DEMO_AGENCY === true) problems.push('DEMO_AGENCY: must not be true in production');
    problems.push(...secretStrengthProblems(e));
    if (!e.PUBLIC_URL) problems.push('PUBLIC_URL: required in production (the https URL wallets reach us at)');
    else if (new URL(e.PUBLIC_URL).protocol !== 'https:') problems.push('PUBLIC_URL: must be an https URL in production');
    if (e.WEBHOOK_ALLOW_PRIVATE)
      problems.push('WEBHOOK_ALLOW_PRIVATE: not allowed in production (webhooks to private addresses)');
    // Peers are sent our department's bearer tokens and answer with application content.
    const plainPeers = Object.values(e.CONSORTIUM_PEER_URLS).filter((url) => new URL(url).protocol !== 'https:');
    if (plainPeers.length) problems.push(`CONSORTIUM_PEER_URLS: must be https URLs in production (${plainPeers.join(', ')})`);
  }
  if (e.CHAIN_RPC_URL && e.NODE_ENV === 'production') {
    for (const name of [
      'CHAIN_REGISTRY_ADDRESS',
      'CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS',
      'CHAIN_STATUS_ANCHOR_ADDRESS',
      'CHAIN_CONSORTIUM_ADDRESS',
      'CHAIN_AUDIT_ANCHOR_ADDRESS',
    ] as const) {
      if (!e[name]) problems.push(`${name}: required with an external chain in production`);
    }
  }
  if ((e.CONSORTIUM_THRESHOLD ?? 0) > e.CONSORTIUM_FOUNDERS.length + 1) {
    problems.push('CONSORTIUM_THRESHOLD: more than the founding members (this department and CONSORTIUM_FOUNDERS)');
  }
  if (e.CLUSTER_WORKERS > 1) {
    if (!e.DATABASE_URL)
      problems.push('CLUSTER_WORKERS: more than one worker needs PostgreSQL (DATABASE_URL); SQLite has one writer');
    if (!e.CHAIN_RPC_URL) problems.push('CLUSTER_WORKERS: more than one worker needs an external chain (CHAIN_RPC_URL)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    warnings: configWarnings(env, e),
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''), bodyLimitBytes: e.BODY_LIMIT_BYTES },
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'sqlite', path: e.SQLITE_PATH ?? `${e.DATA_DIR}/chancery.sqlite` },
    chain: {
      rpcUrl: e.CHAIN_RPC_URL,
      chainId: e.CHAIN_ID,
      networkName: e.CHAIN_NETWORK_NAME,
      contracts: {
        EthereumDIDRegistry: e.CHAIN_REGISTRY_ADDRESS,
        TrustedIssuerRegistry: e.CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS,
        StatusListAnchor: e.CHAIN_STATUS_ANCHOR_ADDRESS,
        AuditAnchor: e.CHAIN_AUDIT_ANCHOR_ADDRESS,
      },
      consortium: {
        vctBaseUrl: e.VCT_BASE_URL?.replace(/\/$/, ''),
        address: e.CHAIN_CONSORTIUM_ADDRESS,
        departmentName: e.DEPARTMENT_NAME,
        founders: e.CONSORTIUM_FOUNDERS,
        threshold: e.CONSORTIUM_THRESHOLD ?? Math.floor((e.CONSORTIUM_FOUNDERS.length + 1) / 2) + 1,
        dataSharingEnforced: e.DATA_SHARING_ENFORCED ?? e.NODE_ENV === 'production',
        peerUrls: e.CONSORTIUM_PEER_URLS,
        reasonCodes: e.APPROVAL_REASON_CODES,
      },
      embeddedPort: e.CHAIN_EMBEDDED_PORT,
      embeddedRestartMs: e.CHAIN_EMBEDDED_RESTART_MS,
      priorityFeeWei: e.CHAIN_PRIORITY_FEE_WEI,
      pollMs: e.CHAIN_POLL_MS,
    },
    keys: {
      masterKey: e.KMS_MASTER_KEY ? Buffer.from(e.KMS_MASTER_KEY, 'base64') : undefined,
      // Off by default when cluster workers fill every core: there is no spare core for the thread.
      signingThread: e.KMS_SIGNING_THREAD ?? e.CLUSTER_WORKERS < availableParallelism(),
    },
    operatorApiKey: e.OPERATOR_API_KEY,
    demoAgency: e.DEMO_AGENCY ?? !e.CHAIN_RPC_URL,
    outboxPollMs: e.OUTBOX_POLL_MS,
    didCacheTtlSeconds: e.DID_CACHE_TTL_SECONDS,
    didCacheMaxEntries: e.DID_CACHE_MAX_ENTRIES,
    oid4vp: {
      maxVpTokenEntries: e.OID4VP_MAX_VP_TOKEN_ENTRIES,
      maxIssuersPerResponse: e.OID4VP_MAX_ISSUERS_PER_RESPONSE,
      verdictRetentionSeconds: e.VERDICT_RETENTION_SECONDS,
      verdictMaxUnreadSeconds: e.VERDICT_MAX_UNREAD_SECONDS,
      purgeIntervalMs: e.PRESENTATION_PURGE_INTERVAL_MS,
      requestRetentionDays: e.PRESENTATION_REQUEST_RETENTION_DAYS,
      webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? false,
    },
    didKeyValidityDays: e.DID_KEY_VALIDITY_DAYS,
    verifier: {
      clockSkewSeconds: e.VERIFIER_CLOCK_SKEW_SECONDS,
      maxIssuersPerRequest: e.VERIFIER_MAX_ISSUERS_PER_REQUEST,
      maxCredentialsPerPresentation: e.VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION,
      trustAnchors: { dids: e.TRUST_ANCHOR_DIDS, x509Pem: e.TRUST_ANCHOR_X509_PEM },
      didWeb: {
        timeoutMs: e.DID_WEB_TIMEOUT_MS,
        maxBytes: e.DID_WEB_MAX_BYTES,
        allowHttp: e.NODE_ENV !== 'production',
        // Outside production every host (tests serve did:web on loopback); in production the listed ones.
        privateHosts: privateHostList(e.NODE_ENV, e.DID_WEB_PRIVATE_HOSTS),
      },
    },
    status: {
      publishIntervalMs: e.STATUS_PUBLISH_INTERVAL_MS,
      maxAgeSeconds: e.STATUS_LIST_MAX_AGE_SECONDS,
      remotePrivateHosts: privateHostList(e.NODE_ENV, e.STATUS_LIST_PRIVATE_HOSTS),
      verifyAnchor: e.STATUS_VERIFY_ANCHOR,
      publisherLeaseMs: e.STATUS_PUBLISHER_LEASE_MS,
      reconcileIntervalMs: e.STATUS_RECONCILE_INTERVAL_MS,
    },
    platform: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: e.HTTP_CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.HTTP_MAX_CONNECTIONS_PER_ADDRESS ?? (e.HTTP_TRUST_PROXY === 'false' ? 256 : 0),
      trustProxy:
        e.HTTP_TRUST_PROXY === 'true'
          ? true
          : e.HTTP_TRUST_PROXY === 'false'
            ? false
            : /^\d+$/.test(e.HTTP_TRUST_PROXY)
              ? Number(e.HTTP_TRUST_PROXY)
              : e.HTTP_TRUST_PROXY,
      redisUrl: e.REDIS_URL,
      // Tests start many apps and hammer single offers on purpose; they opt in to rate limits explicitly.
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE ?? (e.NODE_ENV === 'test' ? 0 : 120),
      rateLimitPerResourcePerMinute: e.RATE_LIMIT_PER_RESOURCE_PER_MINUTE ?? (e.NODE_ENV === 'test' ? 0 : 30),
      rateLimitKeyPrefix: e.RATE_LIMIT_KEY_PREFIX,
      pagePollMs: e.PAGE_POLL_MS,
      docsEnabled: e.DOCS_ENABLED ?? e.NODE_ENV !== 'production',
      issueKeyInPath: e.ISSUE_KEY_IN_PATH ?? false,
      metricsToken: e.METRICS_TOKEN,
    },
    replicas: { reconcileIntervalMs: e.RECONCILE_INTERVAL_MS, clusterWorkers: e.CLUSTER_WORKERS },
    idempotency: { ttlSeconds: e.IDEMPOTENCY_TTL_SECONDS, inFlightSeconds: e.IDEMPOTENCY_IN_FLIGHT_SECONDS },
    holderProofMaxAgeSeconds: e.HOLDER_PROOF_MAX_AGE_SECONDS,
    oid4vci: {
      walletRedirectUris: e.OID4VCI_WALLET_REDIRECT_URIS,
      purgeIntervalMs: e.OID4VCI_PURGE_INTERVAL_MS,
      accessTokenTtlSeconds: e.OID4VCI_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenMaxSeconds: e.OID4VCI_REFRESH_TOKEN_MAX_SECONDS,
      redeliverySeconds: e.OID4VCI_REDELIVERY_SECONDS,
      deferredNotificationId: e.OID4VCI_DEFERRED_NOTIFICATION_ID ?? false,
    },
    citizenDirectoryFile: e.CITIZEN_DIRECTORY_FILE,
    catalogue: { refreshMs: e.CATALOGUE_REFRESH_MS },
    oidc: {
      cookieKeys: e.OIDC_COOKIE_KEYS,
      claimsRetentionSeconds: e.OIDC_CLAIMS_RETENTION_SECONDS,
      purgeIntervalMs: e.OIDC_PURGE_INTERVAL_MS,
    },
    audit: { anchorIntervalMs: e.AUDIT_ANCHOR_INTERVAL_MS, anchorMaxEntries: e.AUDIT_ANCHOR_MAX_ENTRIES },
  };
}

/** The base URL wallets and relying parties reach us at. */
export const publicBaseUrl = (config: AppConfig): string => config.http.publicUrl ?? `http://localhost:${config.http.port}`;

/** The first word of each of our variables' names (CHAIN, OID4VP, RATE…): a variable that starts like ours but is none is a typo. */
const OUR_PREFIXES = new Set(Object.keys(envSchema.shape).map((name) => name.split('_')[0]!));

/**
 * Start-up warnings: a variable that looks like one of ours but is not (zod drops unknown names, so a typo
 * such as REDIS_URI would silently leave the default in place), and production settings that work but are
 * weaker than an operator of several replicas would expect.
 */
function configWarnings(env: Record<string, string | undefined>, e: Env): string[] {
  const warnings: string[] = [];
  const known = new Set(Object.keys(envSchema.shape));
  for (const name of Object.keys(env).sort()) {
    // NAME_FILE is read by docker/entrypoint.mjs into NAME before we start.
    if (known.has(name) || name.endsWith('_FILE') || !OUR_PREFIXES.has(name.split('_')[0]!)) continue;
    // Node's and the HTTP proxies' own variables share a first word with ours.
    if (!/^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(name) || /^(NODE_|HTTPS?_PROXY$)/.test(name)) continue;
    // Kubernetes and Docker links name every service's address after it (a service called redis: REDIS_PORT…).
    if (/_SERVICE_(HOST|PORT)(_|$)|_PORT_\d+_(TCP|UDP)/.test(name)) continue;
    if (name.endsWith('_PORT') && /^(tcp|udp):\/\//.test(env[name] ?? '')) continue;
    warnings.push(`${name} is not a setting of this service and is ignored (see .env.example)`);
  }
  if (e.NODE_ENV === 'production' && !e.REDIS_URL)
    warnings.push('REDIS_URL is not set: rate limits are counted per process, so N replicas allow N times the limit');
  return warnings;
}
