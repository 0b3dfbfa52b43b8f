import { ConfigError, loadConfig } from './config.js';

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

  it('refuses development shortcuts in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/KMS_MASTER_KEY.*\n.*OPERATOR_API_KEY/s);
  });
});
