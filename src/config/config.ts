import { z } from 'zod';

/** Raised at start-up; lists every bad variable at once so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const base64Key32 = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded as base64');

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed address');

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
  CHAIN_ID: z.coerce.number().int().positive().default(7777),
  CHAIN_NETWORK_NAME: z
    .string()
    .regex(/^[a-z][a-z0-9]*$/, 'lower-case letters and digits, starting with a letter')
    .default('govchain'),
  CHAIN_REGISTRY_ADDRESS: address.optional(),
  CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: address.optional(),
  CHAIN_STATUS_ANCHOR_ADDRESS: address.optional(),
  CHAIN_EMBEDDED_PORT: z.coerce.number().int().min(0).max(65535).default(8545),
  CHAIN_EMBEDDED_RESTART_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  CHAIN_PRIORITY_FEE_WEI: z.coerce.bigint().nonnegative().default(0n),
  CHAIN_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),

  KMS_MASTER_KEY: base64Key32.optional(),
  OPERATOR_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  DEMO_AGENCY: bool.optional(),

  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  DID_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  STATUS_PUBLISH_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(2_000),
  STATUS_LIST_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  STATUS_VERIFY_ANCHOR: bool.default(true),
  VERIFIER_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  // Verification hardening (h2-verify).
  HOLDER_PROOF_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
  VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION: z.coerce.number().int().min(1).max(100).default(10),
  VERIFIER_MAX_ISSUERS_PER_REQUEST: z.coerce.number().int().min(1).max(100).default(5),
  DID_KEY_VALIDITY_DAYS: z.coerce.number().int().min(1).max(36_500).default(3_650),
});

export type Env = z.infer<typeof envSchema>;

export interface AppConfig {
  env: Env['NODE_ENV'];
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
    contracts: { EthereumDIDRegistry?: string; TrustedIssuerRegistry?: string; StatusListAnchor?: string };
    embeddedPort: number;
    embeddedRestartMs: number;
    priorityFeeWei: bigint;
    pollMs: number;
  };
  keys: { masterKey: Buffer | undefined };
  operatorApiKey: string | undefined;
  demoAgency: boolean;
  outboxPollMs: number;
  didCacheTtlSeconds: number;
  didKeyValidityDays: number;
  verifier: {
    clockSkewSeconds: number;
    /** Distinct issuer DIDs one verification request may make us resolve. */
    maxIssuersPerRequest: number;
    /** JWT VCs in one JWT VP. */
    maxCredentialsPerPresentation: number;
  };
  /** How old a holder's proof (KB-JWT, JWT VP, key proof) may be, and how far its iat may lie ahead. */
  holderProofMaxAgeSeconds: number;
  status: { publishIntervalMs: number; maxAgeSeconds: number; verifyAnchor: boolean };
}

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
  }
  if (e.CHAIN_RPC_URL && e.NODE_ENV === 'production') {
    for (const name of [
      'CHAIN_REGISTRY_ADDRESS',
      'CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS',
      'CHAIN_STATUS_ANCHOR_ADDRESS',
    ] as const) {
      if (!e[name]) problems.push(`${name}: required with an external chain in production`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
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
      },
      embeddedPort: e.CHAIN_EMBEDDED_PORT,
      embeddedRestartMs: e.CHAIN_EMBEDDED_RESTART_MS,
      priorityFeeWei: e.CHAIN_PRIORITY_FEE_WEI,
      pollMs: e.CHAIN_POLL_MS,
    },
    keys: { masterKey: e.KMS_MASTER_KEY ? Buffer.from(e.KMS_MASTER_KEY, 'base64') : undefined },
    operatorApiKey: e.OPERATOR_API_KEY,
    demoAgency: e.DEMO_AGENCY ?? !e.CHAIN_RPC_URL,
    outboxPollMs: e.OUTBOX_POLL_MS,
    didCacheTtlSeconds: e.DID_CACHE_TTL_SECONDS,
    didKeyValidityDays: e.DID_KEY_VALIDITY_DAYS,
    verifier: {
      clockSkewSeconds: e.VERIFIER_CLOCK_SKEW_SECONDS,
      maxIssuersPerRequest: e.VERIFIER_MAX_ISSUERS_PER_REQUEST,
      maxCredentialsPerPresentation: e.VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION,
    },
    holderProofMaxAgeSeconds: e.HOLDER_PROOF_MAX_AGE_SECONDS,
    status: {
      publishIntervalMs: e.STATUS_PUBLISH_INTERVAL_MS,
      maxAgeSeconds: e.STATUS_LIST_MAX_AGE_SECONDS,
      verifyAnchor: e.STATUS_VERIFY_ANCHOR,
    },
  };
}

/** The base URL wallets and relying parties reach us at. */
export const publicBaseUrl = (config: AppConfig): string => config.http.publicUrl ?? `http://localhost:${config.http.port}`;
