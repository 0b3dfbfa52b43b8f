import { resolve } from 'node:path';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  PgChangeFeed,
  SqliteChangeFeed,
  SqliteVersions,
  type ChangeFeed,
  type SqliteFeedConnection,
  type WatchedTable,
} from './change-feed.js';
import { SqlDriver, type SqlExecutor } from './driver.js';
import { RememberedRows } from './remembered-rows.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { WalIndexHeader } from './wal-index-header.js';
import { DurabilityBarrier, WalFile } from './wal-sync.js';

/** WAL frames (pages) after which the service's connection checkpoints itself once the worker runs (~40 MB). */
export const BACKSTOP_CHECKPOINT_FRAMES = 10_000;
/** SQLite's own default, while no worker checkpoints. */
const DEFAULT_CHECKPOINT_FRAMES = 1_000;

/** The few better-sqlite3 calls made on the service's connection directly (its feeds' included). */
interface SqliteConnection extends SqliteFeedConnection {
  pragma(statement: string): unknown;
  prepare(sql: string): { pluck(): { get(): unknown }; raw(): { get(): unknown } };
}

/** An open database transaction; repositories accept one so several writes commit together. */
export type Tx = EntityManager;

/** A promise chain used as a mutex: SQLite has one connection and TypeORM would nest concurrent transactions. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

@Injectable()
export class Database implements OnApplicationShutdown {
  private readonly queue: SerialQueue | undefined;
  /** Prepared statements through the driver, for repositories' hot paths (see driver.ts). */
  readonly driver: SqlDriver;
  /** SQLite file only: the WAL flush that group commits wait for off the event loop (see `groupTransaction`). */
  readonly walSync: DurabilityBarrier | undefined;
  private readonly walFile: WalFile | undefined;
  /** Started by the first write: the WAL checkpoints of a busy SQLite file, off the event loop. */
  private checkpointer: WalCheckpointer | undefined;
  private shuttingDown = false;
  private readonly feeds = new Map<string, ChangeFeed>();
  private readonly memories = new Map<string, RememberedRows<object>>();
  /** SQLite: the connection's data and schema versions, read once for all its feeds. */
  private sqliteVersions: SqliteVersions | undefined;
  /** SQLite file: `total_changes()` of the connection (rows changed since it opened): tells `serial` an item wrote. */
  private readonly totalChanges: { get(): unknown } | undefined;
  /** What to call once each open transaction commits (see afterCommit); keyed by the transaction's manager. */
  private readonly commitCallbacks = new WeakMap<Tx, (() => void)[]>();
  /** `exclusively`: per name, the end of the last holder's turn in this process. */
  private readonly exclusiveTails = new Map<string, Promise<void>>();

  constructor(readonly dataSource: DataSource) {
    this.queue = dataSource.options.type === 'better-sqlite3' ? new SerialQueue() : undefined;
    this.driver = new SqlDriver(dataSource);
    const path = dataSource.options.type === 'better-sqlite3' ? dataSource.options.database : undefined;
    // Absolute now, as the connection opened it: the WAL flush, the checkpointer and the WAL-index header
    // find their files next to it even if the working directory changes later.
    this.walFile = typeof path === 'string' && path !== ':memory:' && path !== '' ? new WalFile(resolve(path)) : undefined;
    this.walSync = this.walFile && new DurabilityBarrier(this.walFile.flush);
    if (this.walFile) {
      // Every commit writes its WAL frames without an fsync; `serial` and group commits flush them on the
      // WAL flush thread before anything depends on them (see `serial`). Migrations ran before, with FULL.
      this.pragma('synchronous = NORMAL');
      this.totalChanges = this.connection().prepare('SELECT total_changes()').pluck();
    }
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.queue ? 'sqlite' : 'postgres';
  }

  /**
   * Runs `work` while holding a lock shared by every process on this database (a session advisory lock on
   * PostgreSQL; SQLite is one process's). For start-up steps that look, then create (contract deployments, the
   * deployer key, the demo agency): replicas starting together on a fresh database do them once, the later ones
   * finding what the first made. `work` may be slow (it may wait for the chain); it holds one pool connection.
   */
  async exclusively<T>(name: string, work: () => Promise<T>): Promise<T> {
    // In this process first (SQLite has no other), then across processes on PostgreSQL.
    const before = this.exclusiveTails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => turn);
    this.exclusiveTails.set(name, tail);
    await before;
    try {
      return await this.acrossProcesses(name, work);
    } finally {
      release();
      if (this.exclusiveTails.get(name) === tail) this.exclusiveTails.delete(name);
    }
  }

  private async acrossProcesses<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.queue) return work();
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      // Polled rather than waited for in one query: the holder may take longer than a query may (POSTGRES_TIMEOUTS).
      for (;;) {
        const [row] = (await lock.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name])) as { locked: boolean }[];
        if (row?.locked) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return await work();
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
      await lock.release();
    }
  }

  /** Runs fn in one transaction (serialised on SQLite). Never call the chain or other slow I/O inside. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const callbacks: (() => void)[] = [];
    const work = () => this.dataSource.transaction(this.collectingCommitCallbacks(fn, callbacks));
    const value = await (this.queue ? this.serial(work) : work());
    runCommitCallbacks(callbacks);
    return value;
  }

  /**
   * Calls `callback` once the transaction `tx` has committed (on a SQLite file: once it is durable too), and
   * never if it rolls back. For wake-ups of in-process waiters (a queued chain write): nothing may depend on
   * the call, as a transaction this class did not open has no callbacks. Returns whether it was registered.
   */
  afterCommit(tx: Tx, callback: () => void): boolean {
    const callbacks = this.commitCallbacks.get(tx);
    callbacks?.push(callback);
    return callbacks !== undefined;
  }

  private collectingCommitCallbacks<T>(fn: (tx: Tx) => Promise<T>, callbacks: (() => void)[]): (tx: Tx) => Promise<T> {
    return (tx) => {
      this.commitCallbacks.set(tx, callbacks);
      return fn(tx);
    };
  }

  /**
   * Work on the SQLite connection, one item at a time. On a file, an item that changed rows is made durable
   * before it resolves and before the next item runs: an fdatasync of the WAL on its own thread, the
   * flush `synchronous = FULL` did inside every commit on the event loop (one per background write:
   * outbox, leases, publications, index blocks), where a slow disk stalled every request for as long as
   * the flush took. Holding the queue meanwhile keeps FULL's visibility too: nothing of this process reads
   * the change before it is on stable storage. Reads (no row changed) pay no flush.
   */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const walSync = this.walSync;
    const totalChanges = this.totalChanges;
    if (!walSync || !totalChanges) return this.queue!.run(work);
    return this.queue!.run(async () => {
      // After a failed flush nothing more is read or written: what the file holds past it may be lost.
      if (walSync.failed) throw walSync.failed;
      const before = totalChanges.get();
      try {
        return await work();
      } finally {
        if (changedSince(totalChanges, before)) {
          this.startCheckpointer();
          await walSync.sync();
        }
      }
    });
  }

  /**
   * A transaction whose callers wait for `durable` before anything leaves the process (group commit).
   * PostgreSQL: `durable` is settled already (its commit is durable, synchronous_commit = on). SQLite file:
   * the transaction commits (`synchronous = NORMAL`: the WAL frames are written, not fsynced) and the
   * connection is free at once, unlike `serial`; `durable` resolves after an fdatasync of the WAL on its
   * own thread. Meanwhile the next group can be written and signing goes on (ADR 7 addendum 2: the
   * group's rows are visible to this process before they are durable; no caller is answered before).
   */
  async groupTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }> {
    const walSync = this.walSync;
    if (!this.queue || !walSync) return { value: await this.transaction(fn), durable: Promise.resolve() };
    if (walSync.failed) throw walSync.failed;
    this.startCheckpointer();
    const callbacks: (() => void)[] = [];
    const value = await this.queue.run(() => this.dataSource.transaction(this.collectingCommitCallbacks(fn, callbacks)));
    const durable = walSync.sync();
    if (callbacks.length > 0)
      durable.then(
        () => runCommitCallbacks(callbacks),
        () => undefined,
      );
    return { value, durable };
  }

  /**
   * The WAL checkpoints of a busy file, from a worker thread every 200 ms. SQLite's own auto-checkpoint runs
   * on this connection inside a commit, on the event loop (with an fsync of the WAL and one of the database
   * file), at every commit while the WAL holds 1,000 frames since it last restarted, which under steady
   * writes is much of the time (it restarts only when a write begins with every frame checkpointed): from
   * here on it is only the backstop of a worker far behind.
   */
  private startCheckpointer(): void {
    if (this.checkpointer || this.shuttingDown) return;
    const checkpointer = new WalCheckpointer(this.walFile!.databasePath, undefined, () => {
      // The worker is gone (crashed or closed): SQLite checkpoints on this connection again, at its default.
      if (this.checkpointer !== checkpointer) return;
      this.checkpointer = undefined;
      if (this.shuttingDown) return;
      try {
        this.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_FRAMES}`);
      } catch {
        // The connection is closed already (its DataSource destroyed first): nothing left to checkpoint.
      }
    });
    this.checkpointer = checkpointer;
    this.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_FRAMES}`);
  }

  /** Resolves once everything committed so far is on stable storage (SQLite file: a WAL flush; else at once). */
  durable(): Promise<void> {
    return this.walSync?.sync() ?? Promise.resolve();
  }

  /** The service's better-sqlite3 connection. */
  private connection(): SqliteConnection {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
  }

  private pragma(statement: string): void {
    this.connection().pragma(statement);
  }

  /** Runs fn inside the caller's transaction, or on its own (serialised on SQLite) when there is none. */
  use<T>(tx: Tx | undefined, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (tx) return fn(tx);
    const work = () => fn(this.dataSource.manager);
    return this.queue ? this.serial(work) : work();
  }

  /** Raw prepared statements inside the caller's transaction, or on their own (serialised on SQLite). */
  raw<T>(tx: Tx | undefined, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    const work = async () => fn(await this.driver.on(tx));
    if (tx || !this.queue) return work();
    return this.serial(work);
  }

  /**
   * The changes of a watched table, for caches of what it holds (one feed per table, opened on first use).
   * PostgreSQL: the notifications of the table's trigger, on a listening connection of their own. SQLite:
   * TEMP triggers on the service's connection and `PRAGMA data_version` for other connections' commits.
   * An in-memory database (unit tests) has no feed.
   */
  changeFeed(watched: WatchedTable): ChangeFeed | undefined {
    const options = this.dataSource.options;
    let feed = this.feeds.get(watched.channel);
    if (feed) return feed;
    // Shutdown closes the feeds it finds: one opened after that (a timer's last round) would outlive the service.
    if (this.shuttingDown) return undefined;
    if (options.type === 'postgres' && options.url) feed = new PgChangeFeed(options.url, watched.channel);
    else if (this.walFile) {
      const connection = this.connection();
      // The WAL-index header spares the versions statement while nobody committed (ADR 26).
      this.sqliteVersions ??= new SqliteVersions(connection, new WalIndexHeader(this.walFile.databasePath));
      feed = new SqliteChangeFeed(connection, watched, this.sqliteVersions);
    }
    if (feed) this.feeds.set(watched.channel, feed);
    return feed;
  }

  /**
   * Rows remembered between requests while the change feeds of the tables they come from vouch for them
   * (see remembered-rows.ts): one memory per name on this database, shared by every repository using it, so
   * a change committed through one is forgotten by all at once. `keyed`: the table's feed reports the
   * remembered keys (else any change of it forgets everything). The first call for a name defines its tables
   * and options; later calls get the same memory.
   */
  remembered<V extends object>(
    name: string,
    tables: { table: WatchedTable; keyed: boolean }[],
    options: { max: number; ttlMs: number },
  ): RememberedRows<V> {
    let memory = this.memories.get(name);
    if (!memory) {
      const sources = tables.map(({ table, keyed }) => ({ feed: this.changeFeed(table), keyed }));
      memory = new RememberedRows<object>(sources, options);
      this.memories.set(name, memory);
    }
    return memory as unknown as RememberedRows<V>;
  }

  async ping(): Promise<void> {
    // A failed WAL flush is final (see DurabilityBarrier): the service must be restarted to recover.
    if (this.walSync?.failed) throw this.walSync.failed;
    await this.use(undefined, (manager) => manager.query('SELECT 1'));
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.checkpointer?.close();
    await Promise.all([...this.feeds.values()].map((feed) => feed.close()));
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.walFile?.close();
  }
}

/** After-commit callbacks are notifications: one that throws neither stops the others nor fails the commit. */
function runCommitCallbacks(callbacks: (() => void)[]): void {
  for (const callback of callbacks) {
    try {
      callback();
    } catch {
      // a waiter's wake-up failed; it still polls
    }
  }
}

/**
 * Whether the connection's changed-row count moved. When it cannot be read (the connection closed at
 * shutdown right after a write), assume it did: the WAL flush does not need the connection.
 */
function changedSince(totalChanges: { get(): unknown }, before: unknown): boolean {
  try {
    return totalChanges.get() !== before;
  } catch {
    return true;
  }
}
