import { Worker } from 'node:worker_threads';
import { sign as signInline, type KeyObject } from 'node:crypto';

/**
 * Signatures sent back per message: the first callers go on (and reach their group commit) while the
 * thread still signs for the rest of a large batch, at ~2 µs of the event loop per message.
 */
const ANSWERS_PER_MESSAGE = 4;

/** At most this many threads started after stops within the window; beyond, signatures are inline until it passes. */
const RESTARTS_PER_WINDOW = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * The thread's code, evaluated (no file to find from dist/, the tests or the image): it keeps the keys it
 * was given by number and answers each batch of ES256 signatures with one message.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (message) => {
  if (message.key) {
    keys.set(message.key.id, message.key.value);
    return;
  }
  const { batch, jobs } = message;
  for (let offset = 0; offset < jobs.length; offset += ${ANSWERS_PER_MESSAGE}) {
    const answers = jobs.slice(offset, offset + ${ANSWERS_PER_MESSAGE}).map(({ key, data }) => {
      try {
        return sign('sha256', data, { key: keys.get(key), dsaEncoding: 'ieee-p1363' });
      } catch (error) {
        return { error: String((error && error.message) || error) };
      }
    });
    parentPort.postMessage({ batch, offset, answers });
  }
});
`;

interface Job {
  key: number;
  keyObject: KeyObject;
  data: Uint8Array;
  resolve: (signature: Buffer) => void;
  reject: (error: Error) => void;
}

type Answer = Uint8Array | { error: string };

/** Answers to `batch`'s jobs from `offset` on. */
interface Answers {
  batch: number;
  offset: number;
  answers: Answer[];
}

/**
 * ES256 signatures computed on a thread of their own (ADR 36). Under load the event loop is the service's
 * bound while the machine's other core is not: a signature costs the loop ~2–3 µs handed over in a batch
 * against ~30–60 µs computed inline. Signatures asked for in the same turn of the event loop go in one
 * message and come back in one, so the callers waiting for them (and their group commit) stay together.
 */
export class SigningThread {
  private worker: Worker | undefined;
  private keyIds = new WeakMap<KeyObject, number>();
  private nextKeyId = 0;
  private nextBatch = 0;
  private queued: Job[] = [];
  /** Batches sent, by number, and how many of their jobs were answered so far (answers come in order). */
  private readonly inFlight = new Map<number, { jobs: Job[]; answered: number }>();
  private closed = false;
  /** When recent threads stopped: a thread that keeps dying is not started again at every batch. */
  private stops: number[] = [];

  /**
   * Signs `data` (SHA-256, then ECDSA P-256) with `key`; r || s as IEEE P1363. Once closed, while no thread
   * can be started, and for the signatures a stopped thread left unanswered, the signature is computed
   * inline: the thread never fails a signature that inline signing would give.
   */
  sign(key: KeyObject, data: Uint8Array): Promise<Buffer> {
    if (this.closed) return settledInline(key, data);
    let id: number;
    try {
      const worker = this.started();
      if (!worker) return settledInline(key, data);
      let known = this.keyIds.get(key);
      if (known === undefined) {
        known = this.nextKeyId++;
        // Messages on one port arrive in order: the key is there before the first batch that names it.
        worker.postMessage({ key: { id: known, value: key } });
        this.keyIds.set(key, known);
      }
      id = known;
    } catch {
      return settledInline(key, data);
    }
    return new Promise<Buffer>((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.send());
      this.queued.push({ key: id, keyObject: key, data, resolve, reject });
    });
  }

  /** Stops the thread; signatures still on their way are computed inline, and so are later ones. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.signUnansweredInline();
    await worker?.terminate();
  }

  /** The running thread, a new one, or none while threads keep stopping (3 in the last minute). */
  private started(): Worker | undefined {
    if (this.worker) return this.worker;
    const now = Date.now();
    this.stops = this.stops.filter((at) => now - at < RESTART_WINDOW_MS);
    if (this.stops.length >= RESTARTS_PER_WINDOW) return undefined;
    const worker = new Worker(THREAD_SOURCE, { eval: true, name: 'signing' });
    worker.on('message', (message: Answers) => this.answered(message));
    // Referenced only while it owes answers (see `send`, `answered`): an idle thread keeps no process alive.
    // After the listener: adding a 'message' listener references the thread again.
    worker.unref();
    const stopped = () => {
      if (this.worker !== worker) return;
      // A new thread is started by the next signature; it is given its keys again.
      this.worker = undefined;
      this.keyIds = new WeakMap();
      this.stops.push(Date.now());
      this.signUnansweredInline();
    };
    worker.on('error', stopped);
    worker.on('exit', stopped);
    this.worker = worker;
    return worker;
  }

  private send(): void {
    const jobs = this.queued;
    this.queued = [];
    if (jobs.length === 0) return;
    const worker = this.worker;
    if (!worker) {
      for (const job of jobs) answerInline(job);
      return;
    }
    const batch = this.nextBatch++;
    try {
      // Only the bytes of each view: a small Buffer is a view into a shared 8 KB pool, which a message would copy whole.
      worker.postMessage({
        batch,
        jobs: jobs.map(({ key, data }) => ({
          key,
          data: data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data),
        })),
      });
    } catch {
      // A signing input that cannot be sent (a detached buffer): inline, where only that job fails.
      for (const job of jobs) answerInline(job);
      return;
    }
    if (this.inFlight.size === 0) worker.ref();
    this.inFlight.set(batch, { jobs, answered: 0 });
  }

  private answered({ batch, offset, answers }: Answers): void {
    const sent = this.inFlight.get(batch);
    if (!sent) return;
    sent.answered = offset + answers.length;
    if (sent.answered >= sent.jobs.length) {
      this.inFlight.delete(batch);
      if (this.inFlight.size === 0) this.worker?.unref();
    }
    answers.forEach((answer, i) => {
      const job = sent.jobs[offset + i]!;
      // Not `instanceof`: what a message carries is built in the thread's realm.
      if ('error' in answer) job.reject(new Error(answer.error));
      else job.resolve(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength));
    });
  }

  private signUnansweredInline(): void {
    const jobs = [...this.queued, ...[...this.inFlight.values()].flatMap((sent) => sent.jobs.slice(sent.answered))];
    this.queued = [];
    this.inFlight.clear();
    for (const job of jobs) answerInline(job);
  }
}

const inline = (key: KeyObject, data: Uint8Array) => signInline('sha256', data, { key, dsaEncoding: 'ieee-p1363' });

function settledInline(key: KeyObject, data: Uint8Array): Promise<Buffer> {
  try {
    return Promise.resolve(inline(key, data));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

function answerInline(job: Job): void {
  settledInline(job.keyObject, job.data).then(job.resolve, job.reject);
}
