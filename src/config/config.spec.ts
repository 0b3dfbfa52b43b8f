import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from './config.js';
import { DEFAULT_REASON_CODES } from './consortium-config.js';

describe('loadConfig', () => {
  it('defaults to SQLite and an embedded chain', () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/chancery.sqlite' });
    expect(config.chain.rpcUrl).toBeUndefined();
    expect(config.demoAgency).toBe(true);
  });

  it('uses PostgreSQL when DATABASE_URL is set and treats empty strings as unset', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/test', CHAIN_RPC_URL: '' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://127.0.0.1/test' });
    expect(config.chain.rpcUrl).toBeUndefined();
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', CHAIN_ID: '-1', KMS_MASTER_KEY: 'c2hvcnQ=', DATABASE_URL: 'mysql://x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
    expect(problems.sort()).toEqual(['CHAIN_ID', 'DATABASE_URL', 'KMS_MASTER_KEY', 'PORT']);
  });

  it('takes the reason codes officers may put on chain from APPROVAL_REASON_CODES, each of the on-chain form', () => {
    expect(loadConfig({}).chain.consortium.reasonCodes).toEqual(DEFAULT_REASON_CODES);
    expect(loadConfig({ APPROVAL_REASON_CODES: ' fire.exits , fire.exits,no-permit ' }).chain.consortium.reasonCodes).toEqual([
      'fire.exits',
      'no-permit',
    ]);
    expect(() => loadConfig({ APPROVAL_REASON_CODES: 'ok,ID-1234,Zhang Wei' })).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringMatching(/^APPROVAL_REASON_CODES: "ID-1234" is no reason code/),
          expect.stringMatching(/^APPROVAL_REASON_CODES: "Zhang Wei"/),
        ],
      }),
    );
  });

  it('refuses a chain id that its 32-bit database columns cannot hold, naming the bound', () => {
    expect(loadConfig({ CHAIN_ID: '2147483647' }).chain.chainId).toBe(2_147_483_647);
    expect(() => loadConfig({ CHAIN_ID: '11297108109' })).toThrow(/CHAIN_ID: at most 2147483647/);
  });

  it('limits connections per address when clients connect directly, not behind a trusted proxy', () => {
    expect(loadConfig({}).platform.maxConnectionsPerAddress).toBe(256);
    expect(loadConfig({ HTTP_TRUST_PROXY: '1' }).platform.maxConnectionsPerAddress).toBe(0);
    expect(
      loadConfig({ HTTP_TRUST_PROXY: '10.0.0.0/8', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '200' }).platform.maxConnectionsPerAddress,
    ).toBe(200);
  });

  it('signs on a signing thread by default, unless cluster workers fill every core or it is turned off', () => {
    expect(loadConfig({}).keys.signingThread).toBe(true);
    expect(loadConfig({ KMS_SIGNING_THREAD: 'false' }).keys.signingThread).toBe(false);
    const clustered = (workers: number, extra: Record<string, string> = {}) =>
      loadConfig({
        CLUSTER_WORKERS: String(workers),
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        CHAIN_RPC_URL: 'http://127.0.0.1:8545',
        ...extra,
      }).keys.signingThread;
    expect(clustered(availableParallelism())).toBe(false);
    expect(clustered(availableParallelism(), { KMS_SIGNING_THREAD: 'true' })).toBe(true);
    if (availableParallelism() > 2) expect(clustered(2)).toBe(true);
  });

  it('refuses development shortcuts in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/KMS_MASTER_KEY.*\n.*OPERATOR_API_KEY/s);
  });
});

describe('loadConfig in production', () => {
  const strong = {
    NODE_ENV: 'production',
    KMS_MASTER_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64'),
    OPERATOR_API_KEY: 'Q3vX9-kTz_1bR7mW2pLs8YdNc4HfJ6gA0uEo5iKq',
    DATABASE_URL: 'postgres://db.example/chancery',
    CHAIN_RPC_URL: 'https://node.example',
    CHAIN_REGISTRY_ADDRESS: '0x' + '1'.repeat(40),
    CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: '0x' + '2'.repeat(40),
    CHAIN_STATUS_ANCHOR_ADDRESS: '0x' + '3'.repeat(40),
    CHAIN_CONSORTIUM_ADDRESS: '0x' + '4'.repeat(40),
    CHAIN_AUDIT_ANCHOR_ADDRESS: '0x' + '5'.repeat(40),
    PUBLIC_URL: 'https://chancery.example',
  };
  const problemNames = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((problem) => problem.split(':')[0]!).sort();
    }
  };

  it('accepts a strong production configuration, with /docs closed and rate limits on', () => {
    const config = loadConfig(strong);
    expect(config.platform.docsEnabled).toBe(false);
    expect(config.platform.rateLimitPerMinute).toBeGreaterThan(0);
    expect(config.platform.rateLimitPerResourcePerMinute).toBeGreaterThan(0);
    expect(config.demoAgency).toBe(false);
  });

  it('refuses consortium peers over plain http, and warns when rate limits would be counted per replica', () => {
    const peer = '0x' + 'a'.repeat(40);
    expect(problemNames({ ...strong, CONSORTIUM_PEER_URLS: `${peer}=http://peer.example` })).toEqual(['CONSORTIUM_PEER_URLS']);
    expect(problemNames({ ...strong, CONSORTIUM_PEER_URLS: `${peer}=https://peer.example` })).toEqual([]);
    expect(loadConfig(strong).warnings).toEqual([expect.stringMatching(/^REDIS_URL is not set/)]);
    expect(loadConfig({ ...strong, REDIS_URL: 'redis://127.0.0.1:6379' }).warnings).toEqual([]);
  });

  it('warns of a variable named like ours that is none of ours (a typo keeps the default)', () => {
    const warnings = loadConfig({
      ...strong,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_URI: 'redis://127.0.0.1:6379',
      RATE_LIMITS_PER_MINUTE: '10',
      KMS_MASTER_KEY_FILE: '/run/secrets/master',
      NODE_OPTIONS: '--max-old-space-size=4096',
      HTTP_PROXY: 'http://proxy.example',
      REDIS_SERVICE_HOST: '10.0.0.7',
      REDIS_PORT: 'tcp://10.0.0.7:6379',
      REDIS_PORT_6379_TCP_ADDR: '10.0.0.7',
      PATH: '/usr/bin',
    }).warnings;
    expect(warnings).toEqual([
      'RATE_LIMITS_PER_MINUTE is not a setting of this service and is ignored (see .env.example)',
      'REDIS_URI is not a setting of this service and is ignored (see .env.example)',
    ]);
    // A misspelt port of ours is still named, though Kubernetes' links end in _PORT too.
    expect(loadConfig({ ...strong, REDIS_URL: 'redis://127.0.0.1:6379', CHAIN_EMBEDED_PORT: '8546' }).warnings).toEqual([
      'CHAIN_EMBEDED_PORT is not a setting of this service and is ignored (see .env.example)',
    ]);
  });

  it('refuses the demo agency', () => {
    expect(problemNames({ ...strong, DEMO_AGENCY: 'true' })).toEqual(['DEMO_AGENCY']);
  });

  it.each([
    ['short', 'aB3$aB3$aB3$aB3$aB3$aB3$'],
    ['low entropy', 'password'.repeat(5)],
    ['one character', 'a'.repeat(64)],
  ])('refuses a weak OPERATOR_API_KEY (%s)', (_label, key) => {
    expect(problemNames({ ...strong, OPERATOR_API_KEY: key })).toEqual(['OPERATOR_API_KEY']);
  });

  it.each([
    ['all-zero', Buffer.alloc(32).toString('base64')],
    ['repeated byte', Buffer.alloc(32, 0x41).toString('base64')],
    ['two bytes alternating', Buffer.from(Array.from({ length: 32 }, (_, i) => (i % 2 ? 1 : 2))).toString('base64')],
  ])('refuses a non-random KMS_MASTER_KEY (%s)', (_label, key) => {
    expect(problemNames({ ...strong, KMS_MASTER_KEY: key })).toEqual(['KMS_MASTER_KEY']);
  });

  it('lists a non-https or missing PUBLIC_URL like the other problems, together with them', () => {
    expect(problemNames({ ...strong, PUBLIC_URL: 'http://chancery.example' })).toEqual(['PUBLIC_URL']);
    const { PUBLIC_URL: _unset, ...withoutUrl } = strong;
    expect(problemNames({ ...withoutUrl, DEMO_AGENCY: 'true', OPERATOR_API_KEY: 'x'.repeat(40) })).toEqual([
      'DEMO_AGENCY',
      'OPERATOR_API_KEY',
      'PUBLIC_URL',
    ]);
  });

  it('demands the audit anchor address with an external chain in production, like the other contracts', () => {
    const { CHAIN_AUDIT_ANCHOR_ADDRESS: _unset, ...withoutAnchor } = strong;
    expect(problemNames(withoutAnchor)).toEqual(['CHAIN_AUDIT_ANCHOR_ADDRESS']);
    expect(loadConfig(strong).chain.contracts.AuditAnchor).toBe(strong.CHAIN_AUDIT_ANCHOR_ADDRESS);
    // The embedded chain (development) deploys and records it; an external chain outside production may too.
    expect(loadConfig({}).chain.contracts.AuditAnchor).toBeUndefined();
    expect(problemNames({ CHAIN_RPC_URL: 'https://node.example' })).toEqual([]);
    expect(problemNames({ ...withoutAnchor, CHAIN_AUDIT_ANCHOR_ADDRESS: 'not-an-address' })).toEqual([
      'CHAIN_AUDIT_ANCHOR_ADDRESS',
    ]);
  });

  it('demands the consortium address with an external chain, and checks founders and threshold', () => {
    const { CHAIN_CONSORTIUM_ADDRESS: _unset, ...withoutConsortium } = strong;
    expect(problemNames(withoutConsortium)).toEqual(['CHAIN_CONSORTIUM_ADDRESS']);
    expect(loadConfig(strong).chain.consortium).toMatchObject({ threshold: 1, founders: [], dataSharingEnforced: true });
    const b = '0x' + 'b'.repeat(40);
    const c = '0x' + 'c'.repeat(40);
    const founded = loadConfig({ CONSORTIUM_FOUNDERS: `${b}=Transport, ${c}=Tax = Customs`, CONSORTIUM_THRESHOLD: '2' });
    expect(founded.chain.consortium).toMatchObject({
      founders: [
        { member: b, name: 'Transport' },
        { member: c, name: 'Tax = Customs' },
      ],
      threshold: 2,
      dataSharingEnforced: false,
    });
    expect(problemNames({ CONSORTIUM_FOUNDERS: 'Transport' })).toEqual(['CONSORTIUM_FOUNDERS']);
    expect(problemNames({ CONSORTIUM_FOUNDERS: `${b}=Transport`, CONSORTIUM_THRESHOLD: '3' })).toEqual(['CONSORTIUM_THRESHOLD']);
    // Unset: a majority of the founding members (this department and the founders), never one of many.
    expect(loadConfig({}).chain.consortium.threshold).toBe(1);
    expect(loadConfig({ CONSORTIUM_FOUNDERS: `${b}=Transport, ${c}=Tax` }).chain.consortium.threshold).toBe(2);
    expect(problemNames({ DEPARTMENT_NAME: 'x'.repeat(65) })).toEqual(['DEPARTMENT_NAME']);
  });

  it('keeps weak development secrets working outside production and rate limits off in tests', () => {
    const config = loadConfig({ NODE_ENV: 'test', OPERATOR_API_KEY: 'a'.repeat(24), DEMO_AGENCY: 'true' });
    expect(config.platform.rateLimitPerMinute).toBe(0);
    expect(config.platform.docsEnabled).toBe(true);
    expect(loadConfig({}).platform.rateLimitPerMinute).toBe(120);
  });
});
