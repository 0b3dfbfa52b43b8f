import { isDatabaseConnectivityError, isStatementTimeout } from '../common/index.js';
import type { Database, Tx } from './database.js';
import type { SqlPart } from './driver.js';

/** Most jobs written in one transaction: bounds a group's statement sizes and the wait of its first caller. */
export const MAX_GROUP = 32;

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
 * are written again one by one, so one bad job fails only its own caller; when it failed because the database
 * could not be reached, every caller fails at once.
 */
export class GroupCommit<J> {
  private readonly queue: Pending<J>[] = [];
  private running = 0;
  /** A drain is due in this event-loop turn's check phase (see `submit`). */
  private drainScheduled = false;
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
      if (this.running < this.writers && !this.drainScheduled) {
        // Not at once: HTTP requests read in the same poll phase each reach here from their own callback,
        // so a drain started at once would commit them one by one. Draining in the check phase of the same
        // turn groups everything queued by then, and adds no wait for a timer or the disk.
        this.drainScheduled = true;
        setImmediate(() => {
          this.drainScheduled = false;
          void this.drain();
        });
      }
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        await this.commit(group);
      }
    } finally {
      this.running--;
    }
  }

  /**
   * Writes a group; its callers are settled once the transaction is durable. On a SQLite file the drain
   * loop goes on to the next group while this one's WAL flush runs on the thread pool.
   */
  /** Returns the error the group's callers were refused with, if its transaction failed. */
  private async commit(group: Pending<J>[]): Promise<unknown> {
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
      // The database is away (or SQLite busy): one by one, each job would wait out the same timeout again. A
      // statement timeout is not that: the server answers, and the jobs alone may not wait on the same lock.
      if (group.length === 1 || (isDatabaseConnectivityError(error) && !isStatementTimeout(error))) {
        for (const pending of group) pending.reject(error);
        return error;
      }
      // The group timed out and its first job alone times out too: the server is slow for all of them, not one
      // job's lock. The rest are refused at once, rather than each waiting out the timeout after its caller gave up.
      for (const [index, pending] of group.entries()) {
        const failure = await this.commit([pending]);
        if (index === 0 && isStatementTimeout(error) && failure !== undefined && isStatementTimeout(failure)) {
          for (const rest of group.slice(index + 1)) rest.reject(failure);
          break;
        }
      }
      return error;
    }
    this.stats.groups++;
    this.stats.jobs += group.length;
    durable.then(
      () => {
        for (const pending of group) pending.resolve();
      },
      // Committed but not known to be on disk: nobody is answered with it.
      (error: unknown) => {
        for (const pending of group) pending.reject(error);
      },
    );
    return undefined;
  }
}
