import { randomBytes, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { JsonRpcProvider } from 'ethers';
import { Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { freePort } from '../../src/chain/index.js';
import { startApp, type RunningApp } from '../../src/app.js';

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

/**
 * A database of its own for each app (or shared by the replicas a test starts): a temporary SQLite file,
 * or a fresh PostgreSQL database, following the e2e project (TEST_DB).
 */
export async function testDatabase(label = 'test'): Promise<TestDatabase> {
  if (process.env.TEST_DB === 'postgres') {
    const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const name = `chancery_${label}_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return {
      kind: 'postgres',
      env: { DATABASE_URL: url.toString() },
      config: { kind: 'postgres', url: url.toString() },
      async drop() {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `chancery-${label}-`));
  return {
    kind: 'sqlite',
    env: { SQLITE_PATH: join(dir, 'test.sqlite') },
    config: { kind: 'sqlite', path: join(dir, 'test.sqlite') },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
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
    : await testDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'chancery-data-'));
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    PORT: String(port),
    // PUBLIC_HOST lets a test use a DNS name (x509_san_dns needs one); the server listens on 127.0.0.1.
    PUBLIC_URL: `http://${env['PUBLIC_HOST'] ?? '127.0.0.1'}:${port}`,
    DATA_DIR: dataDir,
    // No CHAIN_RPC_URL: each app starts its own embedded hardhat node on a free port, as `npm start` does.
    CHAIN_EMBEDDED_PORT: '0',
    CHAIN_POLL_MS: '50',
    OUTBOX_POLL_MS: '100',
    STATUS_PUBLISH_INTERVAL_MS: '100',
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

/** Waits until every queued chain write (DID, authorisations, status anchors) is mined. */
export async function outboxSettled(app: TestApp): Promise<void> {
  await eventually(async () => {
    const counts = (await app.operator('GET', '/operator/outbox')).body as Record<string, number>;
    return counts['pending'] === 0 && counts['signing'] === 0 && counts['signed'] === 0 ? true : undefined;
  });
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
