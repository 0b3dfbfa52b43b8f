import { close, fdatasync as fdatasyncCallback, open } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';

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

  sync(): Promise<void> {
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
    this.flushes++;
    const started = performance.now();
    const run = this.flush().finally(() => {
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
 * on the libuv thread pool instead of the event loop: `fdatasync` of the `-wal` file (Linux flushes a
 * file's dirty pages whatever descriptor they were written through), and once, the directory holding it
 * (as SQLite does after creating a WAL). The descriptor is opened once and kept: SQLite only deletes (and
 * later recreates) a WAL when the last connection to the database closes, after a checkpoint it synced
 * itself, and the service's connection stays open as long as this flush is used. A missing WAL (no commit
 * yet) has nothing to flush.
 */
export class WalFile {
  private fd: number | undefined;

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
    await fdatasync(this.fd);
  };

  /** After the database connection closed (its close checkpoints and syncs). */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await closeFd(fd);
  }
}
