import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SqlDriver, type SqlExecutor } from './driver.js';

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

  constructor(readonly dataSource: DataSource) {
    this.queue = dataSource.options.type === 'better-sqlite3' ? new SerialQueue() : undefined;
    this.driver = new SqlDriver(dataSource);
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.queue ? 'sqlite' : 'postgres';
  }

  /** Runs fn in one transaction (serialised on SQLite). Never call the chain or other slow I/O inside. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const work = () => this.dataSource.transaction(fn);
    return this.queue ? this.queue.run(work) : work();
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

  async ping(): Promise<void> {
    await this.use(undefined, (manager) => manager.query('SELECT 1'));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
