import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from './common/index.js';
import type { AppConfig } from './config/index.js';

/**
 * A worker's exit code for a start no restart can mend (a node of another chain than CHAIN_ID, a chain that lost
 * our contracts): the primary stops instead of forking it again for ever.
 */
export const FATAL_START_EXIT_CODE = 3;

/** Restart delay for a worker that died: doubles per quick death, at most 30 s. */
export const workerRestartDelayMs = (quickDeaths: number): number => Math.min(500 * 2 ** quickDeaths, 30_000);

/**
 * Cluster mode for one machine (CLUSTER_WORKERS > 1): this process becomes the node:cluster primary,
 * serves nothing itself, and forks the workers, which share the HTTP port. loadConfig has already
 * refused SQLite (one writer) and the embedded chain (one child per process) with more than one worker.
 *
 * Background work stays safe with N workers as with N replicas: outbox entries are advanced by the
 * worker holding their lease, the reconciler runs where it holds its job lease, the status publisher
 * per list lease; the event poller runs in every worker because it evicts that worker's caches.
 *
 * Workers start one after another (the next once the previous listens), so migrations and contract
 * checks never run concurrently. A worker that dies is forked again with backoff; SIGTERM/SIGINT stop
 * every worker and then the primary. Returns false when this process should run the app itself.
 */
export function runClusterPrimary(
  config: AppConfig,
  log: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): boolean {
  const count = config.replicas.clusterWorkers;
  if (count <= 1 || !cluster.isPrimary) return false;
  serveClusterMetrics();

  let stopping = false;
  let quickDeaths = 0;
  const started = new Map<number, number>();
  /** Workers that have listened and not exited. */
  const serving = new Set<number>();
  const fork = (): Promise<Worker> =>
    new Promise((resolve) => {
      const worker = cluster.fork();
      started.set(worker.id, Date.now());
      worker.once('listening', () => {
        serving.add(worker.id);
        resolve(worker);
      });
      worker.once('exit', () => resolve(worker));
    });

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    serving.delete(worker.id);
    if (stopping) {
      // A worker may still be listed until it also disconnects; count only the ones still running.
      if (Object.values(cluster.workers ?? {}).every((other) => !other || other.isDead())) process.exit();
      return;
    }
    // Fatal only while no worker serves: a replacement meeting a node that answers partly for a moment (syncing,
    // a lagging validator behind a balancer) must not take down the workers that serve; it is retried with backoff.
    if (code === FATAL_START_EXIT_CODE && serving.size === 0) {
      log(`chancery worker ${worker.process.pid} cannot start (see its message above); stopping the cluster`);
      process.exitCode = FATAL_START_EXIT_CODE;
      stopping = true;
      const others = Object.values(cluster.workers ?? {}).filter((other) => other && other !== worker && !other.isDead());
      if (others.length === 0) process.exit();
      for (const other of others) other?.process.kill('SIGTERM');
      return;
    }
    quickDeaths = lived < 10_000 ? quickDeaths + 1 : 0;
    const delay = workerRestartDelayMs(quickDeaths);
    log(`chancery worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${delay} ms`);
    setTimeout(() => void (stopping ? undefined : fork()), delay);
  });

  const stop = () => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit();
    for (const worker of workers) worker?.process.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  void (async () => {
    for (let i = 0; i < count && !stopping; i++) await fork();
    log(`chancery cluster: ${count} workers on port ${config.http.port}`);
  })();
  return true;
}
