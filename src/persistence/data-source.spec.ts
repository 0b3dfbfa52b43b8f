import { dataSourceOptions, POSTGRES_TIMEOUTS } from './data-source.js';

describe('dataSourceOptions', () => {
  const postgres = { kind: 'postgres' as const, url: 'postgres://127.0.0.1/test' };

  it('bounds every PostgreSQL query and connection, the server cancelling a statement just before we give up', () => {
    const { extra } = dataSourceOptions(postgres, [], []) as { extra: Record<string, number> };
    expect(extra).toEqual({
      max: 20,
      connectionTimeoutMillis: POSTGRES_TIMEOUTS.connectMs,
      query_timeout: POSTGRES_TIMEOUTS.queryMs,
      statement_timeout: POSTGRES_TIMEOUTS.statementMs,
    });
    expect(POSTGRES_TIMEOUTS.statementMs).toBeLessThan(POSTGRES_TIMEOUTS.queryMs);
  });

  it('leaves migrations without a query limit', () => {
    const { extra } = dataSourceOptions(postgres, [], [], { queryTimeoutMs: 0 }) as { extra: Record<string, number> };
    expect(extra).toEqual({ max: 20, connectionTimeoutMillis: POSTGRES_TIMEOUTS.connectMs });
  });
});
