import { BackgroundJob } from './background-job.js';

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
