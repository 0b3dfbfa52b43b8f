import { jest } from '@jest/globals';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source.js';
import { BACKSTOP_CHECKPOINT_FRAMES, Database } from './database.js';
import { GroupCommit } from './group-commit.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { DurabilityBarrier, WalFile } from './wal-sync.js';
import { isDatabaseConnectivityError } from '../common/database-outage.js';

/** A promise settled from outside. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settledState = async (promise: Promise<unknown>) => {
  let state = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('DurabilityBarrier', () => {
  it('answers a caller only with a flush started after its call, and shares that flush', async () => {
    const flushes: ReturnType<typeof deferred>[] = [];
    const barrier = new DurabilityBarrier(() => {
      const flush = deferred();
      flushes.push(flush);
      return flush.promise;
    });
    const first = barrier.sync();
    expect(flushes).toHaveLength(1);
    // Written while the first flush runs: that flush may have started before the write.
    const second = barrier.sync();
    const third = barrier.sync();
    expect(flushes).toHaveLength(1);
    flushes[0]!.resolve();
    expect(await settledState(first)).toBe('resolved');
    expect(await settledState(second)).toBe('pending');
    expect(flushes).toHaveLength(2);
    flushes[1]!.resolve();
    await Promise.all([second, third]);
    expect(barrier.flushes).toBe(2);
  });

  it('fails the callers of a failed flush and every later caller, without flushing again', async () => {
    let fail = true;
    const barrier = new DurabilityBarrier(() => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve()));
    await expect(barrier.sync()).rejects.toThrow(/WAL flush failed \(EIO\)/);
    // A later fsync could succeed over pages the kernel dropped: the failure is final.
    fail = false;
    await expect(barrier.sync()).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
    expect(barrier.failed).toBeDefined();
    expect(barrier.flushes).toBe(1);
  });
});

/** A SQLite file with a `jobs` table, its DataSource and the service's Database on it. */
async function openJobsDatabase(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataSource = new DataSource(dataSourceOptions({ kind: 'sqlite', path: join(dir, 'db.sqlite') }, [], []));
  await dataSource.initialize();
  await dataSource.query('CREATE TABLE jobs (n INTEGER PRIMARY KEY)');
  const db = new Database(dataSource);
  return {
    dir,
    dataSource,
    db,
    async close() {
      await db.onApplicationShutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('group commit on a SQLite file (real better-sqlite3)', () => {
  let dir: string;
  let dataSource: DataSource;
  let db: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, dataSource, db, close } = await openJobsDatabase('chancery-wal-'));
  });
  afterAll(() => close());

  const synchronous = async (tx?: { query(sql: string): Promise<{ synchronous: number }[]> }) =>
    (await (tx ?? dataSource).query('PRAGMA synchronous'))[0]!.synchronous;

  it('flushes the WAL file (and tolerates its absence)', async () => {
    const wal = new WalFile(join(dir, 'db.sqlite'));
    await wal.flush();
    await wal.flush();
    await wal.close();
    await new WalFile(join(dir, 'missing.sqlite')).flush();
  });

  it('flushes the WAL of the real database file behind a symbolic link', async () => {
    const link = join(dir, 'linked.sqlite');
    symlinkSync(join(dir, 'db.sqlite'), link);
    const wal = new WalFile(link);
    await wal.flush();
    // The descriptor it keeps is the real WAL's (SQLite's own connection also has one open).
    const fd = (wal as unknown as { fd: number | undefined }).fd;
    expect(fd).toBeDefined();
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(join(dir, 'db.sqlite-wal'));
    await wal.close();
  });

  it('fails a whole group at once when the database cannot be reached, and retries one by one only for a bad job', async () => {
    let writes = 0;
    let unreachable = true;
    const commit = new GroupCommit<number>(db, (jobs) => ({
      statements: [],
      inTransaction: async (tx) => {
        writes++;
        if (unreachable) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        for (const n of jobs) await tx.query('INSERT INTO jobs (n) VALUES (?)', [n]);
      },
    }));
    // Retried job by job, each would wait out the busy timeout (or, on PostgreSQL, the connect timeout) again.
    const down = await Promise.allSettled([commit.submit(9001), commit.submit(9002), commit.submit(9003)]);
    expect(down.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(isDatabaseConnectivityError((down[0] as PromiseRejectedResult).reason)).toBe(true);
    expect(writes).toBe(1);
    // A statement timeout (the server answers) is retried job by job, as any other failure.
    writes = 0;
    const slow = new GroupCommit<number>(db, (jobs) => ({
      statements: [],
      inTransaction: async (tx) => {
        writes++;
        if (jobs.length > 1) throw Object.assign(new Error('canceling statement'), { code: '57014' });
        for (const n of jobs) await tx.query('INSERT INTO jobs (n) VALUES (?)', [n]);
      },
    }));
    const retried = await Promise.allSettled([slow.submit(9011), slow.submit(9012)]);
    expect(retried.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(writes).toBe(3);
    // A job that breaks a constraint fails only its own caller (9004 is already there).
    unreachable = false;
    await db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (9004)'));
    writes = 0;
    const mixed = await Promise.allSettled([commit.submit(9005), commit.submit(9004), commit.submit(9006)]);
    expect(mixed.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writes).toBe(4);
    await db.transaction((tx) => tx.query('DELETE FROM jobs WHERE n > 9000'));
  });

  it('commits a group with NORMAL and answers its callers only after the WAL flush, the connection free meanwhile', async () => {
    const walSync = db.walSync!;
    const flush = deferred();
    const flushing = deferred();
    const sync = jest.spyOn(walSync, 'sync').mockImplementationOnce(() => {
      flushing.resolve();
      return flush.promise;
    });
    const seen: number[] = [];
    const commit = new GroupCommit<number>(db, (jobs) => ({
      statements: [],
      inTransaction: async (tx) => {
        seen.push(await synchronous(tx));
        for (const n of jobs) await tx.query('INSERT INTO jobs (n) VALUES (?)', [n]);
      },
    }));
    const done = commit.submit(1);
    await flushing.promise;
    // Committed (visible to readers) but not flushed: the caller is not answered yet.
    expect(await dataSource.query('SELECT n FROM jobs')).toEqual([{ n: 1 }]);
    expect(await settledState(done)).toBe('pending');
    expect(seen).toEqual([1]); // NORMAL
    // The worker checkpoints from now on; the connection's own auto-checkpoint (in the commit, on the event
    // loop) is only the backstop of a worker far behind.
    expect((await dataSource.query('PRAGMA wal_autocheckpoint'))[0]).toEqual({ wal_autocheckpoint: BACKSTOP_CHECKPOINT_FRAMES });
    // The connection goes on with other work while the group's flush runs.
    expect(await db.transaction((tx) => synchronous(tx))).toBe(1);
    flush.resolve();
    await done;
    expect(sync).toHaveBeenCalledTimes(1);
    sync.mockRestore();
  });

  it('calls after-commit callbacks once the transaction is durable, never after a rollback or for a transaction it did not open', async () => {
    const walSync = db.walSync!;
    const flush = deferred();
    const sync = jest.spyOn(walSync, 'sync').mockReturnValueOnce(flush.promise);
    const called: string[] = [];
    const { durable } = await db.groupTransaction(async (tx) => {
      await tx.query('INSERT INTO jobs (n) VALUES (401)');
      expect(db.afterCommit(tx, () => called.push('group'))).toBe(true);
    });
    await settledState(durable);
    expect(called).toEqual([]); // committed, not yet flushed
    flush.resolve();
    await durable;
    expect(called).toEqual(['group']);
    sync.mockRestore();

    const flushesBefore = walSync.flushes;
    let flushesAtCallback = 0;
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO jobs (n) VALUES (402)');
      db.afterCommit(tx, () => (flushesAtCallback = walSync.flushes));
      db.afterCommit(tx, () => called.push('transaction'));
      db.afterCommit(tx, () => {
        throw new Error('a failing listener');
      });
      db.afterCommit(tx, () => called.push('after the failing one'));
      expect(called).toEqual(['group']);
    });
    expect(called).toEqual(['group', 'transaction', 'after the failing one']);
    expect(flushesAtCallback).toBeGreaterThan(flushesBefore); // the write was flushed before its callbacks ran

    await expect(
      db.transaction(async (tx) => {
        db.afterCommit(tx, () => called.push('rolled back'));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await dataSource.transaction(async (tx) => {
      expect(db.afterCommit(tx, () => called.push('foreign'))).toBe(false);
    });
    await settledState(db.durable());
    expect(called).toEqual(['group', 'transaction', 'after the failing one']);
  });

  it('makes any other write durable before it resolves and before the next work on the connection, off the event loop', async () => {
    const flush = deferred();
    const flushing = deferred();
    const sync = jest.spyOn(db.walSync!, 'sync').mockImplementationOnce(() => {
      flushing.resolve();
      return flush.promise;
    });
    const write = db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [60]));
    const read = db.raw(undefined, (sql) => sql.all<{ n: number }>(db.driver.sql('SELECT n FROM jobs WHERE n = ?'), [60]));
    await flushing.promise;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    clearInterval(timer);
    // Committed on the connection (frames written), waiting for its flush: neither the writer nor the next
    // item on the connection has an answer, and the event loop kept running meanwhile.
    expect(await dataSource.query('SELECT n FROM jobs WHERE n = 60')).toEqual([{ n: 60 }]);
    expect(await settledState(write)).toBe('pending');
    expect(await settledState(read)).toBe('pending');
    // Timers due before the 30 ms one run before it: at least one tick, however loaded the machine.
    expect(ticks).toBeGreaterThan(0);
    flush.resolve();
    await write;
    expect(await read).toEqual([{ n: 60 }]);
    expect(sync).toHaveBeenCalledTimes(1);
    sync.mockRestore();

    // Reads pay no flush; a write through `use` or `raw` does, with a real fdatasync.
    const flushes = db.walSync!.flushes;
    await db.raw(undefined, (sql) => sql.all(db.driver.sql('SELECT n FROM jobs'), []));
    await db.use(undefined, (manager) => manager.query('SELECT count(*) AS c FROM jobs'));
    expect(db.walSync!.flushes).toBe(flushes);
    await db.use(undefined, (manager) => manager.query('DELETE FROM jobs WHERE n = 60'));
    expect(db.walSync!.flushes).toBe(flushes + 1);
    await db.raw(undefined, (sql) => sql.run(db.driver.sql('INSERT INTO jobs (n) VALUES (?)'), [61]));
    expect(db.walSync!.flushes).toBe(flushes + 2);
  });

  it.each(['use', 'raw'] as const)('holds the connection behind a %s write until its flush', async (kind) => {
    const flush = deferred();
    const sync = jest.spyOn(db.walSync!, 'sync').mockReturnValueOnce(flush.promise);
    const write =
      kind === 'use'
        ? db.use(undefined, (manager) => manager.query('INSERT INTO jobs (n) VALUES (?)', [80]))
        : db.raw(undefined, (sql) => sql.run(db.driver.sql('INSERT INTO jobs (n) VALUES (?)'), [81]));
    const next = db.raw(undefined, (sql) => sql.all(db.driver.sql('SELECT 1 AS one'), []));
    expect(await settledState(write)).toBe('pending');
    expect(await settledState(next)).toBe('pending');
    flush.resolve();
    await write;
    await expect(next).resolves.toEqual([{ one: 1 }]);
    sync.mockRestore();
  });

  it('flushes a write whose work then threw, before the rejection and before the next item', async () => {
    const flush = deferred();
    const sync = jest.spyOn(db.walSync!, 'sync').mockReturnValueOnce(flush.promise);
    const write = db.use(undefined, async (manager) => {
      await manager.query('INSERT INTO jobs (n) VALUES (?)', [82]);
      throw new Error('after the write');
    });
    const next = db.raw(undefined, (sql) => sql.all(db.driver.sql('SELECT 1 AS one'), []));
    expect(await settledState(write)).toBe('pending');
    expect(await settledState(next)).toBe('pending');
    flush.resolve();
    await expect(write).rejects.toThrow('after the write');
    await next;
    expect(sync).toHaveBeenCalledTimes(1);
    sync.mockRestore();
  });

  it('flushes a write whose changed-row count cannot be read afterwards (connection closing)', async () => {
    const totalChanges = (db as unknown as { totalChanges: { get(): unknown } }).totalChanges;
    const read = totalChanges.get.bind(totalChanges);
    let calls = 0;
    const get = jest.spyOn(totalChanges, 'get').mockImplementation(() => {
      if (++calls === 2) throw new Error('The database connection is not open');
      return read();
    });
    const sync = jest.spyOn(db.walSync!, 'sync');
    await db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [83]));
    expect(sync).toHaveBeenCalledTimes(1);
    get.mockRestore();
    sync.mockRestore();
  });

  it('makes a write during a group flush wait for a flush that started after it', async () => {
    const barrier = db.walSync! as unknown as { flush: () => Promise<void> };
    const real = barrier.flush;
    const groupFlush = deferred();
    const groupFlushing = deferred();
    barrier.flush = () => {
      barrier.flush = real;
      groupFlushing.resolve();
      return groupFlush.promise;
    };
    const commit = new GroupCommit<number>(db, (jobs) => ({
      statements: jobs.map((n) => ({ sql: 'INSERT INTO jobs (n) VALUES (?)', params: [n] })),
    }));
    const group = commit.submit(84);
    await groupFlushing.promise;
    const before = db.walSync!.flushes;
    const write = db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [85]));
    expect(await settledState(write)).toBe('pending');
    expect(db.walSync!.flushes).toBe(before);
    groupFlush.resolve();
    await group;
    await write;
    expect(db.walSync!.flushes).toBe(before + 1);
  });

  it("restores SQLite's own checkpoints when the worker is gone, and starts a new worker at the next write", async () => {
    const worker = (db as unknown as { checkpointer: { worker: { terminate(): Promise<number> } } }).checkpointer.worker;
    await worker.terminate();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await dataSource.query('PRAGMA wal_autocheckpoint'))[0]).toEqual({ wal_autocheckpoint: 1000 });
    await db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [86]));
    expect((await dataSource.query('PRAGMA wal_autocheckpoint'))[0]).toEqual({ wal_autocheckpoint: BACKSTOP_CHECKPOINT_FRAMES });
  });

  it('fails a write whose flush failed, though its row committed, and does not leave the connection stuck', async () => {
    const sync = jest.spyOn(db.walSync!, 'sync').mockRejectedValueOnce(new Error('EIO'));
    await expect(db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [70]))).rejects.toThrow('EIO');
    sync.mockRestore();
    expect(await dataSource.query('SELECT n FROM jobs WHERE n = 70')).toEqual([{ n: 70 }]);
    await expect(db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [71]))).resolves.toBeDefined();
  });

  it('checkpoints the WAL from a worker thread, without the main connection', async () => {
    await dataSource.query('PRAGMA wal_autocheckpoint = 0');
    for (let n = 100; n < 400; n++) await db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (?)', [n]));
    const checkpointer = new WalCheckpointer(join(dir, 'db.sqlite'), 60_000);
    try {
      // The database's own checkpoint worker may hold the checkpoint lock at this moment (PASSIVE then
      // reports busy): ours is asked again until it gets the lock (a deadline, not a count: on a busy disk one
      // of its checkpoints can take long).
      let result = await checkpointer.checkpoint();
      for (const deadline = Date.now() + 60_000; result.busy !== 0 && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        result = await checkpointer.checkpoint();
      }
      expect(result.busy).toBe(0);
      expect(result.log).toBeGreaterThan(0);
      expect(result.checkpointed).toBe(result.log);
    } finally {
      await checkpointer.close();
      await dataSource.query('PRAGMA wal_autocheckpoint = 1000');
    }
    await expect(checkpointer.checkpoint()).rejects.toThrow('closed');
  });

  it('fails every caller of a group whose flush failed, though its rows committed', async () => {
    const sync = jest.spyOn(db.walSync!, 'sync').mockRejectedValueOnce(new Error('EIO'));
    const commit = new GroupCommit<number>(db, (jobs) => ({
      statements: jobs.map((n) => ({ sql: 'INSERT INTO jobs (n) VALUES (?)', params: [n] })),
    }));
    await expect(commit.submit(2)).rejects.toThrow('EIO');
    sync.mockRestore();
    // Real flushes from here on.
    await expect(Promise.all([commit.submit(3), commit.submit(4), commit.submit(5)])).resolves.toHaveLength(3);
    expect(await synchronous()).toBe(1); // NORMAL: every flush is ours, on the thread pool
  });

  it('writes jobs submitted from separate callbacks of one event-loop turn in one transaction', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>(db, (jobs) => {
      groups.push(jobs);
      return { statements: jobs.map((n) => ({ sql: 'INSERT INTO jobs (n) VALUES (?)', params: [n] })) };
    });
    // Like HTTP requests read in one poll phase: each submits from its own callback, not from one loop.
    const submitted = await new Promise<Promise<void>[]>((resolve) => {
      const all: Promise<void>[] = [];
      for (const n of [500, 501, 502]) process.nextTick(() => all.push(commit.submit(n)));
      process.nextTick(() => resolve(all));
    });
    await Promise.all(submitted);
    expect(groups).toEqual([[500, 501, 502]]);
    expect(commit.stats).toEqual({ groups: 1, jobs: 3 });
    const rows = (await dataSource.query('SELECT n FROM jobs WHERE n >= 500 ORDER BY n')) as { n: number }[];
    expect(rows.map((row) => row.n)).toEqual([500, 501, 502]);
  });
});

describe('after a failed WAL flush (real better-sqlite3)', () => {
  let dataSource: DataSource;
  let db: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ dataSource, db, close } = await openJobsDatabase('chancery-wal-failed-'));
  });
  afterAll(() => close());

  it('refuses every later read and write as a database outage, and the health check fails', async () => {
    await db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (1)'));
    const barrier = db.walSync! as unknown as { flush: () => Promise<void> };
    const real = barrier.flush;
    barrier.flush = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (2)'))).rejects.toThrow(/WAL flush failed/);
    barrier.flush = real;
    // The row committed but may be lost: nothing reads it, no later write is told it is durable.
    const refused = { code: 'SQLITE_IOERR_FSYNC' };
    await expect(db.raw(undefined, (sql) => sql.all(db.driver.sql('SELECT n FROM jobs'), []))).rejects.toMatchObject(refused);
    await expect(db.transaction((tx) => tx.query('INSERT INTO jobs (n) VALUES (3)'))).rejects.toMatchObject(refused);
    const commit = new GroupCommit<number>(db, (jobs) => ({
      statements: jobs.map((n) => ({ sql: 'INSERT INTO jobs (n) VALUES (?)', params: [n] })),
    }));
    await expect(commit.submit(4)).rejects.toMatchObject(refused);
    await expect(db.ping()).rejects.toMatchObject(refused);
    expect(isDatabaseConnectivityError(await db.ping().catch((error: unknown) => error))).toBe(true);
    expect(await dataSource.query('SELECT n FROM jobs ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

describe('WalFile', () => {
  it('fails its flushes once its flush thread is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-wal-thread-'));
    const dataSource = new DataSource(dataSourceOptions({ kind: 'sqlite', path: join(dir, 'db.sqlite') }, [], []));
    await dataSource.initialize();
    try {
      await dataSource.query('CREATE TABLE t (n INTEGER)');
      const wal = new WalFile(join(dir, 'db.sqlite'));
      await wal.flush();
      const thread = (wal as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread;
      await thread.worker.terminate();
      await expect(wal.flush()).rejects.toThrow(/flush thread exited/);
      await wal.close();
    } finally {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
