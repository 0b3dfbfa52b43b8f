// The compose network's start-up sequence, without Docker: a fresh external chain (a hardhat node standing
// in for Besu), docker/bootstrap-contracts.mjs deploying our contracts with the service's own governor
// key, then a replica started with only the configured addresses (production mode on PostgreSQL, as in
// docker/chancery.env; SQLite cannot run in production, so there it runs in test mode) that creates an
// agency and changes the trusted-issuer registry.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Contract, JsonRpcProvider, id } from 'ethers';
import { loadConfig } from '../src/config/index.js';
import { startApp } from '../src/app.js';
import { EmbeddedChainNode } from '../src/chain/index.js';
import { testPort } from './support/ports.js';
import { createActiveAgency, startTestApp, testDatabase, type TestApp } from './support/test-app.js';

type Env = Record<string, string | undefined>;
interface Bootstrap {
  bootstrapContracts(env: Env, service: { loadConfig: typeof loadConfig; startApp: typeof startApp }): Promise<string>;
}
const bootstrapPath = '../docker/bootstrap-contracts.mjs';

/** A database the bootstrap run and the replica share, as they do in compose. */
const sharedDatabase = (): Promise<{ env: Env; drop(): Promise<void> }> => testDatabase('deploy');

describe('consortium start-up: bootstrap the contracts, then replicas with configured addresses', () => {
  const production = process.env.TEST_DB === 'postgres';
  const secrets = {
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    OPERATOR_API_KEY: randomBytes(32).toString('base64url'),
  };
  let node: EmbeddedChainNode;
  let database: { env: Env; drop(): Promise<void> };
  let dataDir: string;
  let replica: TestApp | undefined;
  let bootstrapEnv: Env;

  beforeAll(async () => {
    node = await EmbeddedChainNode.start({ chainId: 7777, port: await testPort() });
    database = await sharedDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'chancery-deploy-data-'));
    bootstrapEnv = {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATA_DIR: dataDir,
      CHAIN_RPC_URL: node.rpcUrl,
      CHAIN_ID: '7777',
      CHAIN_POLL_MS: '50',
      OUTBOX_POLL_MS: '100',
      ...database.env,
      ...secrets,
    };
  });
  afterAll(async () => {
    await replica?.close();
    await database?.drop();
    await node?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('deploys the three contracts once, and the replicas use them with the same governor key', async () => {
    const { bootstrapContracts } = (await import(bootstrapPath)) as Bootstrap;
    const text = await bootstrapContracts(bootstrapEnv, { loadConfig, startApp });
    const contracts = parseEnv(text) as Record<string, string>;
    expect(Object.keys(contracts).sort()).toEqual([
      'CHAIN_AUDIT_ANCHOR_ADDRESS',
      'CHAIN_CONSORTIUM_ADDRESS',
      'CHAIN_REGISTRY_ADDRESS',
      'CHAIN_STATUS_ANCHOR_ADDRESS',
      'CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS',
    ]);
    const provider = new JsonRpcProvider(node.rpcUrl, 7777, { staticNetwork: true });
    try {
      for (const address of Object.values(contracts)) expect(await provider.getCode(address)).not.toBe('0x');

      // Idempotent: a second run (a retried compose job) finds the recorded contracts.
      expect(await bootstrapContracts(bootstrapEnv, { loadConfig, startApp })).toBe(text);

      replica = await startTestApp({
        ...(production ? { NODE_ENV: 'production', PUBLIC_URL: 'https://chancery.example' } : {}),
        CHAIN_RPC_URL: node.rpcUrl,
        ...(database.env as Record<string, string>),
        ...secrets,
        ...contracts,
      });
      expect(replica.config.env).toBe(production ? 'production' : 'test');
      const chain = await replica.operator('GET', '/operator/chain');
      expect(chain.body.contracts).toEqual({
        EthereumDIDRegistry: contracts.CHAIN_REGISTRY_ADDRESS,
        TrustedIssuerRegistry: contracts.CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS,
        StatusListAnchor: contracts.CHAIN_STATUS_ANCHOR_ADDRESS,
      });
      expect(chain.body.consortium.governance).toBe(contracts.CHAIN_CONSORTIUM_ADDRESS);
      // The audit-log roots go to the bootstrap's AuditAnchor (required in production, issue 17).
      expect(chain.body.auditAnchor).toBe(contracts.CHAIN_AUDIT_ANCHOR_ADDRESS);

      // Only the governor (the bootstrap's deployer key) may change the registry: the replica can.
      const { agency } = await createActiveAgency(replica, 'transport', 'Transport', ['driving-licence']);
      // The consortium's issuer registry (ADR 15), read from the governance contract's own view.
      const governance = new Contract(
        contracts.CHAIN_CONSORTIUM_ADDRESS!,
        ['function issuerRegistry() view returns (address)'],
        provider,
      );
      const registry = new Contract(
        (await governance.getFunction('issuerRegistry')()) as string,
        ['function isAuthorised(address issuer, bytes32 credentialType) view returns (bool)'],
        provider,
      );
      const issuer = (agency.did as string).split(':').pop()!;
      expect(await registry.getFunction('isAuthorised')(issuer, id('driving-licence'))).toBe(true);
    } finally {
      provider.destroy();
    }
  });
});
