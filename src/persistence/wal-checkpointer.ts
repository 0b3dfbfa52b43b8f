import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What `PRAGMA wal_checkpoint` reports: WAL frames, and how many of them are now in the database file. */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** The worker: its own better-sqlite3 connection, one PASSIVE checkpoint per message (CommonJS, eval'd). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

/**
 * Checkpoints a SQLite file's WAL from a worker thread (its own connection), so the copy of WAL pages
 * into the database file and its two fsyncs do not run on the event loop inside a commit, as SQLite's
 * auto-checkpoint (every 1000 WAL pages, on the committing connection) would. PASSIVE never blocks the
 * writer; when it has copied everything, the next write starts the WAL over. The auto-checkpoint stays on
 * as the backstop: it only fires if the worker falls behind by 1000 pages (or is gone).
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private pending: { resolve(result: CheckpointResult): void; reject(error: Error): void } | undefined;
  private closed = false;

  /** `onStopped`: the worker exited (crashed, or closed); no checkpoint runs any more. */
  constructor(path: string, intervalMs = 200, onStopped?: () => void) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, module } });
    this.worker.unref();
    this.worker.on('message', (message: { result?: CheckpointResult; error?: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if (message.result) pending?.resolve(message.result);
      else pending?.reject(new Error(message.error ?? 'checkpoint failed'));
    });
    this.worker.on('error', (error) => {
      this.closed = true;
      this.pending?.reject(error);
      this.pending = undefined;
    });
    this.worker.on('exit', () => {
      this.closed = true;
      clearInterval(this.timer);
      this.pending?.reject(new Error('the checkpoint worker exited'));
      this.pending = undefined;
      onStopped?.();
    });
    this.timer = setInterval(() => {
      if (!this.pending && !this.closed) this.checkpoint().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  /** One PASSIVE checkpoint (one at a time). */
  checkpoint(): Promise<CheckpointResult> {
    if (this.closed) return Promise.reject(new Error('checkpointer closed'));
    if (this.pending) return Promise.reject(new Error('a checkpoint is running'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage('checkpoint');
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.worker.terminate();
  }
}
