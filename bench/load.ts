// HTTP load generator in a child process, so the client's own CPU use runs neither on the service's
// event loop nor in its process (the service's CPU per request is then the process's own). Closed loop (fixed concurrency, for the peak rate) or open loop (fixed arrival rate, for
// latency percentiles at a given load).
import { createConnection, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadSpec {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  /** Request bodies, used round robin. */
  bodies: string[];
  expectStatus: number;
  /** Closed loop: this many requests in flight. */
  concurrency: number;
  count: number;
  /** Open loop: requests started at this rate (per second) instead, `count` of them. */
  ratePerSecond?: number;
  /**
   * Requests sent first, unmeasured, by the same process and at the same load (closed or open loop): a fresh
   * load generator is as cold as a fresh server (V8 tiers its request path up over thousands of requests),
   * and a cold client costs several times its warm CPU per request and answers late.
   */
  warmUp?: number;
}

export interface LoadResult {
  count: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  /** CPU time of the load generator's process per measured request: what the client takes from the two cores. */
  clientCpuMicros: number;
  /**
   * The requests at or above p99, grouped into episodes (sent within 50 ms of the previous slow one): one
   * stall makes a single episode of hundreds of requests, a slow path spreads them over the whole run.
   */
  tail: { episodes: number; largest: number; largestSpanMs: number };
  /** The load generator's own event-loop delay (p99, max): a late client inflates the latencies it measures. */
  clientLoopDelayMs: { p99: number; max: number };
}

/**
 * Runs one load in a fresh child process: its warm-up first, then the measured requests. `onMeasuring` is
 * called when the measured part starts (what the caller measures on its side starts there too).
 */
export function runLoad(spec: LoadSpec, onMeasuring?: () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // The instrument stays the same whatever the service runs on: the C library's malloc, not the jemalloc
    // scripts/with-allocator.sh preloads for the bench process (docs/adr/0051).
    const { LD_PRELOAD: _allocator, ...env } = process.env;
    const child = fork(fileURLToPath(import.meta.url), [], { serialization: 'advanced', env });
    child.on('message', (message: LoadResult | typeof MEASURING) => {
      if (message === MEASURING) onMeasuring?.();
      else resolve(message);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    child.send(spec);
  });
}

/** `runLoad`, with the CPU time this process (the service under load) spent per measured request. */
export async function runMeasuredLoad(spec: LoadSpec, onMeasuring?: () => void): Promise<LoadResult & { cpuMicros: number }> {
  let cpu = process.cpuUsage();
  const result = await runLoad(spec, () => {
    cpu = process.cpuUsage();
    onMeasuring?.();
  });
  const used = process.cpuUsage(cpu);
  return { ...result, cpuMicros: (used.user + used.system) / spec.count };
}

const MEASURING = 'measuring';
const warmUpRequests = (spec: LoadSpec) => Math.min(spec.concurrency, 32);

/** See `LoadResult.tail`. */
function tailEpisodes(latencies: number[], sentAt: number[]): LoadResult['tail'] {
  const p99 = percentile(
    [...latencies].sort((a, b) => a - b),
    99,
  );
  const slow = sentAt.filter((_, i) => latencies[i]! >= p99).sort((a, b) => a - b);
  const episodes: { first: number; last: number; requests: number }[] = [];
  for (const sent of slow) {
    const current = episodes.at(-1);
    if (current && sent - current.last < 50) {
      current.last = sent;
      current.requests++;
    } else episodes.push({ first: sent, last: sent, requests: 1 });
  }
  const largest = episodes.reduce((a, b) => (b.requests > a.requests ? b : a), { first: 0, last: 0, requests: 0 });
  return { episodes: episodes.length, largest: largest.requests, largestSpanMs: largest.last - largest.first };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * A keep-alive HTTP/1.1 client on raw sockets, one per request in flight: each request is one prebuilt buffer
 * written in one call, each response read by its status line and Content-Length. Not `fetch`: its per-request
 * cost (streams, promises, header objects) capped a one-signature Nest route at ~1.3k/s on an idle 2-core machine.
 * Not `node:http` either: its client took 60–80 µs of CPU per request on the AMD hosts (`undici` ~50, this ~25),
 * from the two cores the service shares with it, a fifth to a third of what the service spends on a request,
 * so the HTTP rows measured the load generator's share of the machine as much as the service
 * (docs/notes/perf.md, round 31). A response this client cannot read (chunked, no length) fails the run.
 */
export function client(spec: Pick<LoadSpec, 'url' | 'method' | 'headers' | 'bodies' | 'concurrency'>) {
  const target = new URL(spec.url);
  const head = (body: Buffer | undefined) =>
    `${spec.method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n` +
    Object.entries(spec.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    (body ? `content-length: ${body.length}\r\n` : '') +
    '\r\n';
  const requests =
    spec.method === 'POST'
      ? spec.bodies.map((text) => {
          const body = Buffer.from(text);
          return Buffer.concat([Buffer.from(head(body)), body]);
        })
      : [Buffer.from(head(undefined))];
  const idle: Connection[] = [];
  const queued: Array<{ request: Buffer; answer: Answer }> = [];
  let open = 0;
  let closing = false;

  const connect = () => {
    open++;
    return new Connection(target, release, (connection) => {
      open--;
      const index = idle.indexOf(connection);
      if (index >= 0) idle.splice(index, 1);
      if (!closing && queued.length > 0) release(connect());
    });
  };
  function release(connection: Connection) {
    const next = queued.shift();
    if (next) connection.send(next.request, next.answer);
    else idle.push(connection);
  }
  const send = (i: number) =>
    new Promise<Response>((resolve, reject) => {
      const request = requests[i % requests.length]!;
      const connection = idle.pop() ?? (open < spec.concurrency ? connect() : undefined);
      if (connection) connection.send(request, { resolve, reject });
      else queued.push({ request, answer: { resolve, reject } });
    });
  const close = () => {
    closing = true;
    for (const connection of idle.splice(0)) connection.socket.destroy();
  };
  return { send, close };
}

interface Response {
  status: number;
  text: string;
}
interface Answer {
  resolve: (response: Response) => void;
  reject: (error: Error) => void;
}

/** One keep-alive connection with at most one request in flight (no pipelining). */
class Connection {
  readonly socket: Socket;
  private answer: Answer | undefined;
  private received: Buffer | undefined;

  constructor(target: URL, onIdle: (connection: Connection) => void, onClosed: (connection: Connection) => void) {
    this.socket = createConnection({ host: target.hostname, port: Number(target.port || 80), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      const response = this.read(chunk);
      if (!response) return;
      const answer = this.answer!;
      this.answer = undefined;
      if (response.close) this.socket.destroy();
      else onIdle(this);
      answer.resolve({ status: response.status, text: response.text });
    });
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.fail(new Error('the service closed the connection'));
      onClosed(this);
    });
  }

  send(request: Buffer, answer: Answer) {
    this.answer = answer;
    this.socket.write(request);
  }

  /** The response once all of it has arrived. */
  private read(chunk: Buffer): (Response & { close: boolean }) | undefined {
    const received = this.received ? Buffer.concat([this.received, chunk]) : chunk;
    this.received = received;
    const headEnd = received.indexOf('\r\n\r\n');
    if (headEnd < 0) return undefined;
    const head = received.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    // RFC 9112 §6.3: a 204 or 304 has no body, whatever its headers say.
    const length = status === 204 || status === 304 ? '0' : /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return void this.fail(new Error(`a response without Content-Length: ${head.slice(0, 200)}`));
    const end = headEnd + 4 + Number(length);
    if (received.length < end) return undefined;
    this.received = undefined;
    if (received.length > end) return void this.fail(new Error('more bytes than the response announced'));
    return {
      status,
      text: received.toString('utf8', headEnd + 4, end),
      close: /\r\nconnection: *close/i.test(head),
    };
  }

  private fail(error: Error) {
    const answer = this.answer;
    this.answer = undefined;
    this.received = undefined;
    if (answer) {
      this.socket.destroy();
      answer.reject(error);
    }
  }
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  /** When each measured request was sent, beside its latency. */
  const sentAt: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const { send, close } = client(spec);
  const one = async (i: number) => {
    const started = performance.now();
    try {
      const response = await send(i);
      if (response.status !== spec.expectStatus) {
        errors++;
        firstError ??= `${response.status} ${response.text.slice(0, 300)}`;
      }
    } catch (error) {
      errors++;
      firstError ??= (error as Error).message;
    }
    latencies.push(performance.now() - started);
    sentAt.push(started);
  };
  /** `count` requests: at `ratePerSecond` (open loop), else `concurrency` in flight (closed loop). */
  const load = async (count: number) => {
    const started = performance.now();
    if (spec.ratePerSecond) {
      const interval = 1000 / spec.ratePerSecond;
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const due = started + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight.push(one(i));
      }
      await Promise.all(inFlight);
    } else {
      await Promise.all(
        Array.from({ length: spec.concurrency }, async () => {
          while (next < count) await one(next++);
        }),
      );
    }
  };
  // Warm-up, not counted: opens the connections and warms the JIT on both sides.
  await Promise.all(Array.from({ length: warmUpRequests(spec) }, (_, i) => one(i)));
  // Warmed at the load it then measures: an open loop after a closed-loop warm-up would start with the
  // service still digesting a peak (garbage, a WAL to checkpoint).
  await load(spec.warmUp ?? 0);
  next = 0;
  latencies.length = 0;
  sentAt.length = 0;
  await new Promise<void>((resolve) => process.send!(MEASURING, () => resolve()));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  await load(spec.count);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  loopDelay.disable();
  close();
  const tail = tailEpisodes(latencies, sentAt);
  latencies.sort((a, b) => a - b);
  return {
    tail,
    count: spec.count,
    seconds,
    perSecond: spec.count / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    clientCpuMicros: (used.user + used.system) / spec.count,
    clientLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    ...(firstError ? { firstError } : {}),
  };
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once('message', (spec: LoadSpec) => {
    void generate(spec).then((result) => process.send!(result, () => process.exit(0)));
  });
}
