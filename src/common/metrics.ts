import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { unavailable } from './errors.js';

/**
 * The process's Prometheus instruments (prom-client). One registry per process, not per Nest application:
 * HTTP hooks, background jobs and the chain poller count into it without being injected, and a scrape of a
 * cluster worker answers the sum over every worker (see clusterMetricsText).
 */
export const metricsRegistry = new Registry();

export const httpRequests = new Counter({
  name: 'chancery_http_requests_total',
  help: 'HTTP requests answered, by method, route template ("(unmatched)" for none) and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpRequestDuration = new Histogram({
  name: 'chancery_http_request_duration_seconds',
  help: 'Time from a request being read to its response being sent, by method and route template.',
  labelNames: ['method', 'route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const backgroundJobRounds = new Counter({
  name: 'chancery_background_job_rounds_total',
  help: 'Rounds of periodic background jobs (status publication, outbox, reconciler, audit anchoring, purges) by outcome.',
  labelNames: ['job', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const backgroundJobLastSuccess = new Gauge({
  name: 'chancery_background_job_last_success_timestamp_seconds',
  help: 'Unix time of the last round of each background job that completed without an error (alert on its age).',
  labelNames: ['job'] as const,
  aggregator: 'max',
  registers: [metricsRegistry],
});

export const chainHeadBlock = new Gauge({
  name: 'chancery_chain_head_block',
  help: 'The newest block number the chain event poller read from the node.',
  aggregator: 'max',
  registers: [metricsRegistry],
});

export const chainLastPoll = new Gauge({
  name: 'chancery_chain_last_poll_timestamp_seconds',
  help: 'Unix time the chain event poller last read the node without an error (its age grows while the node is unreachable).',
  aggregator: 'max',
  registers: [metricsRegistry],
});

export const webhookDeliveries = new Counter({
  name: 'chancery_webhook_deliveries_total',
  help: 'Verdict webhooks to relying parties by outcome: delivered (2xx), refused (another status) or failed (no answer).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

if (cluster.isWorker) {
  // A worker answers the primary's requests for its figures from its first moment (constructing an AggregatorRegistry
  // installs prom-client's listener): one still starting must not hold up every other worker's scrape.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metricsRegistry]);
}

/**
 * Node's process figures, read when scraped: CPU seconds, memory, heap, the event loop's utilisation since the process
 * started. Not prom-client's default metrics, whose GC observer and event-loop monitor run all the time (ADR 45: the
 * bench's HTTP rows looked dearer with them); these cost nothing between scrapes.
 */
const processStarted = Date.now() / 1000 - process.uptime();
let cpuCounted = { user: 0, system: 0 };
const cpuSeconds = new Counter({
  name: 'process_cpu_seconds_total',
  help: 'CPU time spent by the process, user and system, in seconds.',
  labelNames: ['mode'] as const,
  registers: [metricsRegistry],
  collect() {
    const now = process.cpuUsage();
    cpuSeconds.inc({ mode: 'user' }, Math.max(0, now.user - cpuCounted.user) / 1e6);
    cpuSeconds.inc({ mode: 'system' }, Math.max(0, now.system - cpuCounted.system) / 1e6);
    cpuCounted = now;
  },
});
const heap = new Gauge({
  name: 'nodejs_heap_bytes',
  help: "V8's heap: used and total bytes, and memory held outside it (Buffers and other external memory).",
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
  collect() {
    const memory = process.memoryUsage();
    heap.set({ kind: 'used' }, memory.heapUsed);
    heap.set({ kind: 'total' }, memory.heapTotal);
    heap.set({ kind: 'external' }, memory.external);
  },
});

/** A gauge whose one value is read when scraped (nothing runs between scrapes). */
function scrapedGauge(name: string, help: string, read: () => number, aggregator?: 'min' | 'average'): void {
  new Gauge({
    name,
    help,
    registers: [metricsRegistry],
    ...(aggregator ? { aggregator } : {}),
    collect() {
      this.set(read());
    },
  });
}
scrapedGauge(
  'process_start_time_seconds',
  'Start time of the process since the Unix epoch, in seconds.',
  () => Math.round(processStarted),
  'min',
);
scrapedGauge(
  'process_uptime_seconds',
  'Seconds since the process started (in cluster mode: the youngest worker).',
  () => Math.round(process.uptime()),
  'min',
);
scrapedGauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
scrapedGauge(
  'nodejs_eventloop_utilization',
  'Share of the time since the process started that the event loop was busy (0 to 1; in a cluster, the mean).',
  () => performance.eventLoopUtilization().utilization,
  'average',
);

const ASK = 'chancery:metrics-request';
const ANSWER = 'chancery:metrics-answer';
/**
 * How long a worker waits for the primary's sum: longer than prom-client's own 5 s for gathering the workers' figures,
 * so that its failure, not our impatience, decides.
 */
const CLUSTER_ANSWER_MS = 7_000;

interface MetricsMessage {
  type?: unknown;
  id?: unknown;
  text?: unknown;
}

/**
 * In the cluster primary: answers a worker's request for the metrics of every worker (prom-client asks each
 * worker for its registry and sums counters and histograms; gauges follow their `aggregator`). No text when they
 * could not all be gathered.
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== ASK) return;
    // The asking worker may have died meanwhile: a send to it would be an 'error' event no one listens to, which
    // would end the primary and every worker with it.
    const answer = (text?: string) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, text }, () => undefined);
    };
    aggregator.clusterMetrics().then(answer, () => answer());
  });
}

/** Scrapes waiting for the primary's answer, by request id (one listener for all of them). */
const waiting = new Map<string, (text: string | undefined) => void>();
let listening = false;

/**
 * The Prometheus text of this process, or in a cluster worker the sum over all workers (a scrape reaches one
 * worker at random; counters of one worker at a time would look like resets). In a cluster, 503 when the sum could not
 * be made: a failed scrape is visible as such, figures of one worker would not be.
 */
export async function clusterMetricsText(): Promise<string> {
  if (!cluster.isWorker || !process.send) return metricsRegistry.metrics();
  if (!listening) {
    listening = true;
    process.on('message', (message: MetricsMessage) => {
      if (message?.type !== ANSWER || typeof message.id !== 'string') return;
      waiting.get(message.id)?.(typeof message.text === 'string' ? message.text : undefined);
    });
  }
  const id = randomUUID();
  const summed = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), CLUSTER_ANSWER_MS);
    const finish = (text: string | undefined) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(text);
    };
    waiting.set(id, finish);
    // A channel closed meanwhile (the primary going away) is a scrape without an answer, not an 'error' event.
    process.send!({ type: ASK, id }, undefined, {}, (error) => error && finish(undefined));
  });
  if (summed === undefined) throw unavailable("The cluster's workers did not all answer for the metrics; scrape again");
  return summed;
}
