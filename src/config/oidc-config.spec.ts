import { ConfigError, loadConfig } from './config.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems.map((problem) => problem.split(/[:.]/)[0]!);
  }
};

describe('wallet login (OpenID Provider) configuration', () => {
  it('defaults: derived cookie keys, claims kept ten minutes, purged every minute', () => {
    expect(loadConfig({}).oidc).toEqual({ cookieKeys: undefined, claimsRetentionSeconds: 600, purgeIntervalMs: 60_000 });
  });

  it('takes cookie keys newest first, each at least 32 characters', () => {
    const current = 'k'.repeat(16) + 'e'.repeat(16);
    const previous = 'p'.repeat(40);
    expect(loadConfig({ OIDC_COOKIE_KEYS: ` ${current}, ${previous} ` }).oidc.cookieKeys).toEqual([current, previous]);
    expect(problemsOf({ OIDC_COOKIE_KEYS: `${current},short` })).toEqual(['OIDC_COOKIE_KEYS']);
    expect(problemsOf({ OIDC_COOKIE_KEYS: ',' })).toEqual(['OIDC_COOKIE_KEYS']);
  });

  it('keeps claims at least as long as an authorization code lives, at most a day', () => {
    expect(loadConfig({ OIDC_CLAIMS_RETENTION_SECONDS: '60' }).oidc.claimsRetentionSeconds).toBe(60);
    expect(problemsOf({ OIDC_CLAIMS_RETENTION_SECONDS: '59' })).toEqual(['OIDC_CLAIMS_RETENTION_SECONDS']);
    expect(problemsOf({ OIDC_CLAIMS_RETENTION_SECONDS: '86401', OIDC_PURGE_INTERVAL_MS: '0' })).toEqual([
      'OIDC_CLAIMS_RETENTION_SECONDS',
      'OIDC_PURGE_INTERVAL_MS',
    ]);
  });
});
