import { close, fdatasync as fdatasyncCallback, open } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

const openFd = promisify(open) as (path: string, flags: string) => Promise<number>;
const fdatasync = promisify(fdatasyncCallback);
const closeFd = promisify(close);

/**
 * A durability barrier with coalescing: `sync()` resolves once a flush that *started after the call*
 * completed, so everything written before the call is on stable storage. At most one flush runs at a
 * time; callers arriving while one runs share the next one (it may have started before their write).
 */
export class DurabilityBarrier {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Flushes started, the milliseconds they took in total, and the longest since it was last set to 0 (the bench prints them). */
  flushes = 0;
  flushMs = 0;
  longestFlushMs = 0;

  constructor(private readonly flush: () => Promise<void>) {}

  /** The first flush error: from then on every `sync()` fails with it (see `start`). */
  private failure: Error | undefined;

  /** Whether a flush failed: what was written since may never reach the disk (health reports it). */
  get failed(): Error | undefined {
    return this.failure;
  }

  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.next) return this.next;
    if (!this.running) return this.start();
    const next = this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.start();
      });
    this.next = next;
    return next;
  }

  private start(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.flushes++;
    const started = performance.now();
    // A failed fsync is not retried: Linux reports a writeback error once per file description and may
    // have dropped the dirty pages, so a later flush could succeed over data that never reached the disk,
    // and WAL recovery stops at the first lost frame, taking later commits with it. Every later sync
    // fails; the service answers writes with errors and its health check fails until it is restarted and
    // recovers from what is on disk (PostgreSQL panics for the same reason).
    const run = this.flush()
      .catch((error: unknown) => {
        this.failure ??= Object.assign(
          new Error(`a WAL flush failed (${(error as Error)?.message ?? String(error)}); restart to recover from disk`),
          // SQLite's own code for this: callers answer 503 database_unavailable, as for any I/O error.
          { code: 'SQLITE_IOERR_FSYNC', cause: error },
        );
        throw this.failure;
      })
      .finally(() => {
        const took = performance.now() - started;
        this.flushMs += took;
        this.longestFlushMs = Math.max(this.longestFlushMs, took);
        if (this.running === run) this.running = undefined;
      });
    this.running = run;
    return run;
  }
}

/**
 * The flush of a SQLite file's write-ahead log that `synchronous = FULL` does at every commit, done here
 * on a thread of its own (`FlushThread`) instead of the event loop: `fdatasync` of the `-wal` file (Linux
 * flushes a file's dirty pages whatever descriptor they were written through), and once, the directory
 * holding it (as SQLite does after creating a WAL). The descriptor is opened once and kept: SQLite only deletes (and
 * later recreates) a WAL when the last connection to the database closes, after a checkpoint it synced
 * itself, and the service's connection stays open as long as this flush is used. A missing WAL (no commit
 * yet) has nothing to flush.
 */
export class WalFile {
  private fd: number | undefined;
  private thread: FlushThread | undefined;

  constructor(readonly databasePath: string) {}

  readonly flush = async (): Promise<void> => {
    if (this.fd === undefined) {
      let fd: number;
      // SQLite puts the WAL next to the database's real path (it resolves symbolic links).
      let real: string;
      try {
        real = await realpath(this.databasePath);
        fd = await openFd(`${real}-wal`, 'r+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      const directory = await openFd(dirname(real), 'r');
      try {
        await fdatasync(directory);
      } finally {
        await closeFd(directory);
      }
      if (this.fd === undefined) this.fd = fd;
      else await closeFd(fd);
    }
    this.thread ??= new FlushThread();
    await this.thread.fdatasync(this.fd);
  };

  /** After the database connection closed (its close checkpoints and syncs). */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    await this.thread?.close();
    this.thread = undefined;
    if (fd !== undefined) await closeFd(fd);
  }
}

/** The flush thread: one fdatasync per message, on a descriptor of this process (CommonJS, eval'd). */
const FLUSH_THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
parentPort.on('message', (fd) => {
  try {
    fdatasyncSync(fd);
    parentPort.postMessage({});
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message), code: error && error.code });
  }
});
`;

/**
 * fdatasync on a thread of its own, not on libuv's pool of four: a write holds the connection until its
 * flush is done, and the pool also runs scrypt, pbkdf2, DNS lookups and file I/O, which could keep it
 * waiting (and every reader behind it) for as long as they take. Flushes run one at a time (the barrier
 * asks for one at a time anyway); a thread that dies fails the flush in progress and every later one.
 */
class FlushThread {
  private readonly worker: Worker;
  private pending: { resolve(): void; reject(error: Error): void } | undefined;
  /** One flush at a time: each waits for the one before. */
  private tail: Promise<unknown> = Promise.resolve();
  private stopped: Error | undefined;

  constructor() {
    this.worker = new Worker(FLUSH_THREAD_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (message: { error?: string; code?: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if (message.error === undefined) pending?.resolve();
      else pending?.reject(Object.assign(new Error(message.error), { code: message.code }));
    });
    const stop = (error: Error) => {
      this.stopped ??= error;
      this.pending?.reject(this.stopped);
      this.pending = undefined;
    };
    this.worker.on('error', stop);
    this.worker.on('exit', (code) => stop(new Error(`the WAL flush thread exited (code ${code})`)));
  }

  fdatasync(fd: number): Promise<void> {
    const run = this.tail.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (this.stopped) return reject(this.stopped);
          this.pending = { resolve, reject };
          this.worker.postMessage(fd);
        }),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.stopped ??= new Error('the WAL flush thread is closed');
    await this.worker.terminate();
  }
}
