import type { Database } from './database.js';
import { GroupCommit } from './group-commit.js';

/** A PostgreSQL whose statements fail as `fail` says; counts the statements it was sent. */
function database(fail: (jobs: number[]) => unknown) {
  const batches: number[][] = [];
  const db = {
    kind: 'postgres',
    driver: {
      batch: async (_tx: unknown, statements: { jobs: number[] }[]) => {
        const jobs = statements.flatMap((statement) => statement.jobs);
        batches.push(jobs);
        const error = fail(jobs);
        if (error) throw error;
      },
    },
  } as unknown as Database;
  return { db, batches };
}

const settled = (promises: Promise<void>[]) =>
  Promise.all(
    promises.map((promise) =>
      promise.then(
        () => 'ok',
        (error: { code?: string }) => error.code ?? 'error',
      ),
    ),
  );

describe('GroupCommit', () => {
  const write = (jobs: number[]) => ({ statements: [{ sql: 'INSERT', params: [], jobs }] as never[] });

  it('writes a failed group again job by job, so one bad job fails only its caller', async () => {
    const { db, batches } = database((jobs) => (jobs.includes(2) ? { code: '23505' } : undefined));
    const commits = new GroupCommit<number>(db, write);
    expect(await settled([1, 2, 3].map((job) => commits.submit(job)))).toEqual(['ok', '23505', 'ok']);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('refuses the rest of a group at once when a job alone also times out: the server is slow for all of them', async () => {
    const timeout = { code: '57014', message: 'canceling statement due to statement timeout' };
    const { db, batches } = database(() => timeout);
    const commits = new GroupCommit<number>(db, write);
    expect(await settled([1, 2, 3, 4].map((job) => commits.submit(job)))).toEqual(['57014', '57014', '57014', '57014']);
    // The group, then the first job alone: not each of the others in turn, each waiting out the timeout.
    expect(batches).toEqual([[1, 2, 3, 4], [1]]);
  });

  it('goes on job by job when the group failed for another reason and one job alone times out on its own lock', async () => {
    const fail = (jobs: number[]) =>
      jobs.length > 1
        ? { code: '23505' }
        : jobs[0] === 2
          ? { code: '57014', message: 'canceling statement due to statement timeout' }
          : undefined;
    const { db, batches } = database(fail);
    const commits = new GroupCommit<number>(db, write);
    expect(await settled([1, 2, 3, 4].map((job) => commits.submit(job)))).toEqual(['ok', '57014', 'ok', 'ok']);
    expect(batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });
});
