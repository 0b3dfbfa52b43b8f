import { ConfigError, loadConfig } from './config/index.js';
import { runClusterPrimary, workerRestartDelayMs } from './cluster.js';

describe('cluster mode', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('refuses SQLite and the embedded chain with more than one worker, naming both', () => {
    const found = problems({ CLUSTER_WORKERS: '4' });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^CLUSTER_WORKERS: .*PostgreSQL \(DATABASE_URL\)/);
    expect(found[1]).toMatch(/^CLUSTER_WORKERS: .*CHAIN_RPC_URL/);
  });

  it('accepts several workers on PostgreSQL with an external chain; one worker is the default', () => {
    const config = loadConfig({
      CLUSTER_WORKERS: '3',
      DATABASE_URL: 'postgres://127.0.0.1/x',
      CHAIN_RPC_URL: 'http://127.0.0.1:8545',
    });
    expect(config.replicas.clusterWorkers).toBe(3);
    expect(loadConfig({}).replicas).toEqual({ clusterWorkers: 1, reconcileIntervalMs: 30_000 });
  });

  it('runs the app in this process when there is one worker', () => {
    expect(runClusterPrimary(loadConfig({}))).toBe(false);
  });

  it('backs off restarting workers that die quickly, up to 30 s', () => {
    expect([0, 1, 2].map(workerRestartDelayMs)).toEqual([500, 1_000, 2_000]);
    expect(workerRestartDelayMs(20)).toBe(30_000);
  });
});
