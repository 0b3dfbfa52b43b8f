import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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

let defaultMetricsStarted = false;
/** Node's process metrics (CPU, memory, event-loop delay, GC), once per process: they start timers and observers. */
export function startProcessMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  collectDefaultMetrics({ register: metricsRegistry });
  if (cluster.isWorker) {
    // Constructing one installs prom-client's answer to the primary's requests for this worker's figures.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metricsRegistry]);
  }
}

const ASK = 'chancery:metrics-request';
const ANSWER = 'chancery:metrics-answer';
/** How long a worker waits for the primary's sum before answering its own figures. */
const CLUSTER_ANSWER_MS = 3_000;

interface MetricsMessage {
  type?: unknown;
  id?: unknown;
  text?: unknown;
}

/**
 * In the cluster primary: answers a worker's request for the metrics of every worker (prom-client asks each
 * worker for its registry and sums counters and histograms; gauges follow their `aggregator`).
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== ASK) return;
    aggregator
      .clusterMetrics()
      .then((text) => worker.send({ type: ANSWER, id: message.id, text }))
      .catch(() => worker.send({ type: ANSWER, id: message.id }));
  });
}

/**
 * The Prometheus text of this process, or in a cluster worker the sum over all workers (a scrape reaches one
 * worker at random; counters of one worker at a time would look like resets). Falls back to this process's own
 * figures when the primary does not answer in time.
 */
export async function clusterMetricsText(): Promise<string> {
  if (!cluster.isWorker || !process.send) return metricsRegistry.metrics();
  const id = randomUUID();
  const summed = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), CLUSTER_ANSWER_MS);
    const onMessage = (message: MetricsMessage) => {
      if (message?.type === ANSWER && message.id === id) finish(typeof message.text === 'string' ? message.text : undefined);
    };
    const finish = (text: string | undefined) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(text);
    };
    process.on('message', onMessage);
    process.send!({ type: ASK, id });
  });
  return summed ?? metricsRegistry.metrics();
}
