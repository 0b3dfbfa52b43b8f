import { ConfigError, loadConfig } from './config.js';

describe('OID4VP and DID cache configuration', () => {
  it('has bounded defaults', () => {
    const config = loadConfig({});
    expect(config.didCacheMaxEntries).toBe(10_000);
    expect(config.oid4vp).toEqual({
      maxVpTokenEntries: 10,
      maxIssuersPerResponse: 5,
      verdictRetentionSeconds: 600,
      verdictMaxUnreadSeconds: 86_400,
      purgeIntervalMs: 60_000,
      requestRetentionDays: 30,
      webhookAllowPrivate: false,
    });
  });

  it('refuses WEBHOOK_ALLOW_PRIVATE in production and allows it in tests', () => {
    let problems: string[] = [];
    try {
      loadConfig({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE: 'true' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.some((problem) => problem.startsWith('WEBHOOK_ALLOW_PRIVATE:'))).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE: 'true' }).oid4vp.webhookAllowPrivate).toBe(true);
  });
});
