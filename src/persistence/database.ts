import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SQLITE_SYNCHRONOUS } from './data-source.js';
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
import { DurabilityBarrier, WalFile } from './wal-sync.js';

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
  /** Started by the first group commit: the WAL checkpoints of a busy SQLite file, off the event loop. */
  private checkpointer: WalCheckpointer | undefined;
  private readonly feeds = new Map<string, ChangeFeed>();
  private readonly memories = new Map<string, RememberedRows<object>>();
  /** SQLite: the connection's data and schema versions, read once for all its feeds. */
  private sqliteVersions: SqliteVersions | undefined;

  constructor(readonly dataSource: DataSource) {
    this.queue = dataSource.options.type === 'better-sqlite3' ? new SerialQueue() : undefined;
    this.driver = new SqlDriver(dataSource);
    const path = dataSource.options.type === 'better-sqlite3' ? dataSource.options.database : undefined;
    this.walFile = typeof path === 'string' && path !== ':memory:' && path !== '' ? new WalFile(path) : undefined;
    this.walSync = this.walFile && new DurabilityBarrier(this.walFile.flush);
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.queue ? 'sqlite' : 'postgres';
  }

  /** Runs fn in one transaction (serialised on SQLite). Never call the chain or other slow I/O inside. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const work = () => this.dataSource.transaction(fn);
    return this.queue ? this.queue.run(work) : work();
  }

  /**
   * A transaction whose callers wait for `durable` before anything leaves the process (group commit).
   * PostgreSQL: `durable` is settled already (its commit is durable, synchronous_commit = on). SQLite file:
   * this one transaction commits with `synchronous = NORMAL` (the WAL frames are written, not fsynced, so
   * the event loop does not block on the disk), the connection is back at `FULL` before any other
   * transaction runs, and `durable` resolves after an fdatasync of the WAL on the thread pool — the flush
   * FULL would have done inside the commit. Meanwhile the next group can be written and signing goes on.
   */
  async groupTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }> {
    const walSync = this.walSync;
    if (!this.queue || !walSync) return { value: await this.transaction(fn), durable: Promise.resolve() };
    this.checkpointer ??= new WalCheckpointer(this.walFile!.databasePath);
    const value = await this.queue.run(async () => {
      this.pragma('synchronous = NORMAL');
      try {
        return await this.dataSource.transaction(fn);
      } finally {
        this.pragma(`synchronous = ${SQLITE_SYNCHRONOUS}`);
      }
    });
    return { value, durable: walSync.sync() };
  }

  private pragma(statement: string): void {
    (this.dataSource.driver as unknown as { databaseConnection: { pragma(s: string): unknown } }).databaseConnection.pragma(
      statement,
    );
  }

  /** Runs fn inside the caller's transaction, or on its own (serialised on SQLite) when there is none. */
  use<T>(tx: Tx | undefined, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (tx) return fn(tx);
    const work = () => fn(this.dataSource.manager);
    return this.queue ? this.queue.run(work) : work();
  }

  /** Raw prepared statements inside the caller's transaction, or on their own (serialised on SQLite). */
  raw<T>(tx: Tx | undefined, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    const work = async () => fn(await this.driver.on(tx));
    if (tx || !this.queue) return work();
    return this.queue.run(work);
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
    if (options.type === 'postgres' && options.url) feed = new PgChangeFeed(options.url, watched.channel);
    else if (this.walFile) {
      const connection = (this.dataSource.driver as unknown as { databaseConnection: SqliteFeedConnection }).databaseConnection;
      this.sqliteVersions ??= new SqliteVersions(connection);
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
    await this.use(undefined, (manager) => manager.query('SELECT 1'));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.checkpointer?.close();
    await Promise.all([...this.feeds.values()].map((feed) => feed.close()));
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.walFile?.close();
  }
}
