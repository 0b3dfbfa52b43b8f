import { BackgroundJob, forEachIsolated } from './background-job.js';

describe('BackgroundJob', () => {
  it('logs one line when an outage starts and one when it ends, and every other failure', async () => {
    const lines: string[] = [];
    const logger = {
      warn: (_: unknown, message: string) => lines.push(`warn ${message}`),
      log: (_: unknown, message: string) => lines.push(`log ${message}`),
    };
    const job = new BackgroundJob(logger, 'outbox pass');
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    for (let i = 0; i < 50; i++) await job.run(() => Promise.reject(down));
    await job.run(() => Promise.resolve());
    await job.run(() => Promise.resolve());
    await job.run(() => Promise.reject(Object.assign(new Error('chain'), { code: 'CHAIN_UNAVAILABLE' })));
    await job.run(() => Promise.reject(Object.assign(new Error('chain'), { code: 'CHAIN_UNAVAILABLE' })));
    await job.run(() => Promise.reject(new Error('a bug')));
    await job.run(() => Promise.reject(new Error('a bug')));
    expect(lines).toEqual([
      'warn outbox pass paused: the database is unreachable',
      'log outbox pass resumed: the database is reachable again',
      'warn outbox pass paused: the chain node is unreachable',
      'warn outbox pass failed',
      'warn outbox pass failed',
    ]);
  });
});

describe('forEachIsolated', () => {
  const report = () => {
    const reported: string[] = [];
    return { reported, report: (_error: unknown, item: string) => void reported.push(item) };
  };

  it('gives every item its turn when one fails, reports the failure, and fails the round with the first error', async () => {
    const done: string[] = [];
    const { reported, report: onFailure } = report();
    const failing = new Error('list b: signing failed');
    const round = forEachIsolated(
      ['a', 'b', 'c', 'd'],
      async (item) => {
        if (item === 'b' || item === 'd') throw item === 'b' ? failing : new Error('later');
        done.push(item);
      },
      onFailure,
    );
    await expect(round).rejects.toBe(failing);
    expect(done).toEqual(['a', 'c']);
    expect(reported).toEqual(['b', 'd']);
  });

  it('ends the round at once on a database or chain outage, which every item would meet alike', async () => {
    for (const outage of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      Object.assign(new Error('chain node unreachable'), { code: 'CHAIN_UNAVAILABLE' }),
    ]) {
      const done: string[] = [];
      const { reported, report: onFailure } = report();
      const round = forEachIsolated(
        ['a', 'b', 'c'],
        async (item) => {
          if (item === 'b') throw outage;
          done.push(item);
        },
        onFailure,
      );
      await expect(round).rejects.toBe(outage);
      expect(done).toEqual(['a']);
      expect(reported).toEqual([]);
    }
  });
});
