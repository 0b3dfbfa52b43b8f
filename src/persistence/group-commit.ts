import type { Database, Tx } from './database.js';
import type { SqlPart } from './driver.js';

/**
 * Most jobs written in one transaction: bounds a group's statement sizes and the wait of its first caller.
 * SQLite groups are larger because one group is written per WAL flush (see `drain`).
 */
export const MAX_GROUP = { sqlite: 64, postgres: 16 } as const;

/**
 * What a group writes: statements that need nothing read back (run as one batch, see `SqlDriver.batch`),
 * then, when given, more work in the same transaction.
 */
export interface GroupWrite {
  statements: SqlPart[];
  inTransaction?: (tx: Tx) => Promise<void>;
}

interface Pending<J> {
  job: J;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit: jobs submitted while a transaction is being written are queued and written together in
 * the next one (at most `MAX_GROUP`), so concurrent callers share one durable commit (one fsync on SQLite,
 * and on PostgreSQL a group without transaction work is ONE statement: one round trip, its own
 * transaction, no BEGIN/COMMIT). Each caller's promise settles only after the transaction
 * holding its job committed and is durable (on SQLite: its WAL flushed, see `Database.groupTransaction`),
 * so nothing is answered before it is durable. When a group fails, its jobs
 * are written again one by one, so one bad job fails only its own caller.
 */
export class GroupCommit<J> {
  private readonly queue: Pending<J>[] = [];
  private running = 0;
  /** Transactions committed and jobs they held (mean group size = jobs / groups), for the bench. */
  readonly stats = { groups: 0, jobs: 0 };

  /**
   * @param write what a group writes (`inTransaction` must not touch the chain or other slow I/O)
   * @param writers concurrent transactions: 1 on SQLite (one writer anyway), a few on PostgreSQL
   */
  constructor(
    private readonly db: Database,
    private readonly write: (jobs: J[]) => GroupWrite,
    private readonly writers = db.kind === 'sqlite' ? 1 : 4,
  ) {}

  /** Resolves once the job is committed; rejects when its transaction failed. */
  submit(job: J): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (this.running < this.writers) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP[this.db.kind]);
        const { settled } = await this.commit(group);
        // SQLite: one group per WAL flush. A group committed while the previous flush runs would wait for
        // the next flush anyway, so the jobs queued meanwhile are written as one group when the flush ends:
        // the same answer times, with one transaction (BEGIN, head move, COMMIT) instead of several.
        if (this.db.kind === 'sqlite') await settled;
      }
    } finally {
      this.running--;
    }
  }

  /**
   * Writes a group; its callers are settled once the transaction is durable. Resolves once written, with
   * `settled`, which settles with the callers (after the WAL flush on a SQLite file).
   */
  private async commit(group: Pending<J>[]): Promise<{ settled: Promise<void> }> {
    let durable: Promise<void>;
    try {
      const { statements, inTransaction } = this.write(group.map((p) => p.job));
      if (this.db.kind === 'postgres' && !inTransaction) {
        // One statement, its own transaction: committed and durable when it returns.
        await this.db.driver.batch(undefined, statements);
        durable = Promise.resolve();
      } else {
        ({ durable } = await this.db.groupTransaction(async (tx) => {
          await this.db.driver.batch(tx, statements);
          await inTransaction?.(tx);
        }));
      }
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return { settled: Promise.resolve() };
      }
      const each: Promise<void>[] = [];
      for (const pending of group) each.push((await this.commit([pending])).settled);
      return { settled: Promise.all(each).then(() => undefined) };
    }
    this.stats.groups++;
    this.stats.jobs += group.length;
    // Settles with the callers; never rejects (the drain loop only waits on it).
    const settled = durable.then(
      () => {
        for (const pending of group) pending.resolve();
      },
      // Committed but not known to be on disk: nobody is answered with it.
      (error: unknown) => {
        for (const pending of group) pending.reject(error);
      },
    );
    return { settled };
  }
}
