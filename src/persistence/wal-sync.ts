import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A durability barrier with coalescing: `sync()` resolves once a flush that *started after the call*
 * completed, so everything written before the call is on stable storage. At most one flush runs at a
 * time; callers arriving while one runs share the next one (it may have started before their write).
 */
export class DurabilityBarrier {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Flushes started (for tests and the bench: flushes per group commit). */
  flushes = 0;

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
    const run = this.flush().finally(() => {
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
 * (as SQLite does after creating a WAL). The WAL only disappears when the last connection closes, after a
 * checkpoint that SQLite itself synced, so a missing WAL has nothing left to flush.
 */
export function walFlush(databasePath: string): () => Promise<void> {
  let directorySynced = false;
  const datasync = async (path: string, flags: string) => {
    const handle = await open(path, flags);
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  };
  return async () => {
    try {
      await datasync(`${databasePath}-wal`, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (!directorySynced) {
      await datasync(dirname(databasePath), 'r');
      directorySynced = true;
    }
  };
}
