import { createHash, randomBytes, type JsonWebKey } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JsonRpcProvider } from 'ethers';
import { Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { openDataSource } from '../../src/persistence/index.js';
import { entities } from '../../src/entities.js';
import { migrations } from '../../migrations/index.js';
import { testPort } from './ports.js';

/** Response bodies are whatever JSON the endpoint sent; tests assert on their shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Reply = { status: number; body: any; headers: Headers };

export interface TestApp extends RunningApp {
  rpcUrl: string;
  /** fetch against the app; JSON bodies are encoded and decoded. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  operator(method: string, path: string, body?: unknown): Promise<Reply>;
  dbKind: 'sqlite' | 'postgres';
}

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** DATABASE_URL or SQLITE_PATH, for an app's environment. */
  env: Record<string, string>;
  /** The same, as src/config describes a database (for openDataSource). */
  config: AppConfig['database'];
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /**
   * Start from a copy of a database every migration has already been applied to (made once per set of
   * migration sources, see migratedTemplate), instead of an empty one. The app still runs its migration step
   * at start-up, which then finds nothing pending. Tests of the migrations themselves leave this off.
   */
  migrated?: boolean;
}

/**
 * A database of its own for each app (or shared by the replicas a test starts): a temporary SQLite file,
 * or a fresh PostgreSQL database, following the e2e project (TEST_DB). Empty unless `migrated`.
 */
export async function testDatabase(label = 'test', options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  if (process.env.TEST_DB === 'postgres') {
    const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const name = `chancery_${label}_${randomBytes(6).toString('hex')}`;
    const template = options.migrated ? await migratedPostgresTemplate(adminUrl) : undefined;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await whileInUse(() => admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
    } finally {
      await admin.end();
    }
    const url = databaseUrl(adminUrl, name);
    return {
      kind: 'postgres',
      env: { DATABASE_URL: url },
      config: { kind: 'postgres', url },
      async drop() {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `chancery-${label}-`));
  const path = join(dir, 'test.sqlite');
  if (options.migrated) copyFileSync(await migratedSqliteTemplate(), path);
  return {
    kind: 'sqlite',
    env: { SQLITE_PATH: path },
    config: { kind: 'sqlite', path },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

const databaseUrl = (adminUrl: string, name: string): string => {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * Names the migrated templates: a digest of every migration source, so a template is reused only for exactly the
 * migrations it was made with (a changed or added migration makes a new one; old templates are left, a few kB each).
 */
let digest: string | undefined;
function migrationsDigest(): string {
  if (digest) return digest;
  const dir = fileURLToPath(new URL('../../migrations/', import.meta.url));
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort())
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(dir, file)))
      .update('\0');
  digest = hash.digest('hex').slice(0, 16);
  return digest;
}

/** Runs a statement again while PostgreSQL says a database it needs is still in use (a closing connection). */
async function whileInUse<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Any constant: the advisory lock the test workers take while one of them makes the migrated template. */
const TEMPLATE_LOCK_KEY = '7234012345678901';

/**
 * A PostgreSQL database every migration was applied to, made once (whichever worker comes first, under an
 * advisory lock) and then only copied: CREATE DATABASE … TEMPLATE. Nothing connects to it after it is made.
 */
async function migratedPostgresTemplate(adminUrl: string): Promise<string> {
  const name = `chancery_template_${migrationsDigest()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      // Made under another name and renamed when complete: a run stopped half-way leaves no half-made template.
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${building}`);
      const source = await openDataSource({ kind: 'postgres', url: databaseUrl(adminUrl, building) }, entities, migrations);
      await source.destroy();
      await whileInUse(() => admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`));
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    await admin.end();
  }
  return name;
}

/** A SQLite file every migration was applied to, made once in the temporary directory and then only copied. */
async function migratedSqliteTemplate(): Promise<string> {
  const path = join(tmpdir(), `chancery-template-${migrationsDigest()}.sqlite`);
  if (existsSync(path)) return path;
  // Made beside it and renamed when complete (closed, so its WAL is checkpointed into it): two workers that both
  // make one each rename a whole file into place.
  const dir = mkdtempSync(join(tmpdir(), 'chancery-template-'));
  try {
    const building = join(dir, 'template.sqlite');
    const source = await openDataSource({ kind: 'sqlite', path: building }, entities, migrations);
    await source.destroy();
    if (existsSync(`${building}-wal`)) throw new Error('the migrated SQLite template kept a WAL file after closing');
    renameSync(building, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return path;
}

/**
 * The environment of a second replica of `primary`: its database, its chain node (as an external
 * CHAIN_RPC_URL), the same master key, operator key and contract addresses (read from /operator/chain),
 * and its PUBLIC_URL, as behind one load balancer: the credential issuer, the token audience and the
 * status-list URLs (whose keccak256 keys the anchors) are one service's, whichever replica answers.
 */
async function replicaEnv(primary: TestApp): Promise<Record<string, string>> {
  const chain = (await primary.operator('GET', '/operator/chain')).body as {
    contracts: Record<string, string>;
    consortium: { governance: string };
  };
  const { database } = primary.config;
  return {
    ...(database.kind === 'postgres' ? { DATABASE_URL: database.url } : { SQLITE_PATH: database.path }),
    CHAIN_RPC_URL: primary.rpcUrl,
    PUBLIC_URL: primary.config.http.publicUrl!,
    KMS_MASTER_KEY: primary.config.keys.masterKey!.toString('base64'),
    OPERATOR_API_KEY: primary.operatorApiKey,
    CHAIN_REGISTRY_ADDRESS: chain.contracts['EthereumDIDRegistry']!,
    CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: chain.contracts['TrustedIssuerRegistry']!,
    CHAIN_STATUS_ANCHOR_ADDRESS: chain.contracts['StatusListAnchor']!,
    CHAIN_CONSORTIUM_ADDRESS: chain.consortium.governance,
  };
}

export interface TestAppOptions {
  /** Start a second replica of this app: same database, same chain node; the primary owns both. */
  replicaOf?: TestApp;
}

export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.replicaOf
    ? { kind: options.replicaOf.dbKind, env: await replicaEnv(options.replicaOf), drop: async () => undefined }
    : await testDatabase('test', { migrated: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'chancery-data-'));
  const port = await testPort();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    PORT: String(port),
    // PUBLIC_HOST lets a test use a DNS name (x509_san_dns needs one); the server listens on 127.0.0.1.
    PUBLIC_URL: `http://${env['PUBLIC_HOST'] ?? '127.0.0.1'}:${port}`,
    DATA_DIR: dataDir,
    // No CHAIN_RPC_URL: each app starts its own embedded hardhat node, as `npm start` does, on a port of this
    // worker's (with CHAIN_EMBEDDED_PORT=0 the app would pick one the other worker could pick too).
    CHAIN_EMBEDDED_PORT: String(await testPort()),
    // Chain events at 100 ms and the outbox's poll at 250 ms (a write committed here nudges it at once; the poll only
    // finds other replicas' writes): every app a test holds polls for as long as it runs, and at 50 / 100 ms the
    // polls of the apps and their chain nodes took a tenth of the suite's CPU on two cores.
    CHAIN_POLL_MS: '100',
    OUTBOX_POLL_MS: '250',
    STATUS_PUBLISH_INTERVAL_MS: '100',
    // The browser tests' pages poll at this pace: a login or lookup waits about half of it for its verdict.
    PAGE_POLL_MS: '250',
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    OPERATOR_API_KEY: randomBytes(24).toString('base64url'),
    DEMO_AGENCY: 'false',
    ...database.env,
    ...env,
  });
  const running = await startApp(config);
  const call = httpCaller(() => running.url);
  return {
    ...running,
    rpcUrl: running.embeddedChain?.rpcUrl ?? config.chain.rpcUrl!,
    dbKind: database.kind,
    call,
    operator: (method, path, body) => call(method, path, { body, token: running.operatorApiKey }),
    async close() {
      await running.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until check returns a value (not undefined) or the time is up; for state reached in the background. */
/** Calls a running service over HTTP: JSON bodies (a string is sent as is), Bearer token, JSON answers parsed. */
export function httpCaller(baseUrl: () => string): TestApp['call'] {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const response = await fetch(baseUrl() + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
}

export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Creates an agency through the operator API, authorises it for the given catalogue types, and waits
 * until its DID and the authorisations are anchored.
 */
export async function createActiveAgency(app: TestApp, slug: string, name = `Agency ${slug}`, authorisedTypes: string[] = []) {
  const created = await app.operator('POST', '/operator/agencies', { slug, name });
  if (created.status !== 201) throw new Error(`agency creation failed: ${JSON.stringify(created.body)}`);
  const id = created.body.agency.id as string;
  for (const typeId of authorisedTypes) {
    const granted = await app.operator('PUT', `/operator/agencies/${id}/authorisations/${typeId}`);
    if (granted.status !== 200) throw new Error(`authorisation failed: ${JSON.stringify(granted.body)}`);
  }
  const agency = await eventually(async () => {
    const view = await app.operator('GET', `/operator/agencies/${id}`);
    return view.body.status === 'active' ? view.body : undefined;
  });
  await eventually(async () => {
    const list = (await app.operator('GET', `/operator/agencies/${id}/authorisations`)).body as { status: string }[];
    return list.every((entry) => entry.status === 'active') ? true : undefined;
  });
  await outboxSettled(app);
  return { agency, apiKey: created.body.apiKey as string };
}

/**
 * Waits until no queued chain write (DID, authorisations, status anchors) is open: each is mined or reverted.
 * The last one's mined-listeners (an agency shown active, an authorisation settled) and its lease's release may
 * still be running: wait for their effects where a test reads them.
 */
export async function outboxSettled(app: TestApp, timeoutMs = 20_000): Promise<void> {
  await eventually(async () => {
    const counts = (await app.operator('GET', '/operator/outbox')).body as Record<string, number>;
    return counts['pending'] === 0 && counts['signing'] === 0 && counts['signed'] === 0 ? true : undefined;
  }, timeoutMs);
}

/**
 * ethr-did-resolver used directly (not through our code) against the app's chain node, as an
 * independent verifier would. Its provider is ours only so that the test can close it.
 */
export async function independentResolver(
  app: TestApp,
): Promise<{ resolver: Resolver; issuerJwk(kid: string): Promise<JsonWebKey>; close(): void }> {
  const chain = (await app.operator('GET', '/operator/chain')).body;
  const provider = new JsonRpcProvider(app.rpcUrl, chain.chainId, { staticNetwork: true });
  const resolver = new Resolver(
    getResolver({
      networks: [{ name: chain.networkName, chainId: chain.chainId, provider: provider as never, registry: chain.registry }],
    }) as never,
  );
  /** The ES256 key a kid names, as read from the DID document on chain (publicKeyHex → JWK). */
  const issuerJwk = async (kid: string): Promise<JsonWebKey> => {
    const { didDocument } = await resolver.resolve(kid.split('#')[0]!);
    const bytes = Buffer.from(didDocument!.verificationMethod!.find((vm) => vm.id === kid)!.publicKeyHex!, 'hex');
    return {
      kty: 'EC',
      crv: 'P-256',
      x: bytes.subarray(1, 33).toString('base64url'),
      y: bytes.subarray(33).toString('base64url'),
    };
  };
  return { resolver, issuerJwk, close: () => provider.destroy() };
}
