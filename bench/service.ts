// The service under load: started on one database, made ready (agency active, authorised, first status
// lists anchored), then measured in-process and over HTTP.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { loadConfig } from '../src/config/index.js';
import { startApp, type RunningApp } from '../src/app.js';
import { AgencyService, AuthorisationService, DemoCredentialsFile, IssuanceService } from '../src/issuer/index.js';
import { Database } from '../src/persistence/index.js';
import { VerifierService } from '../src/verifier/index.js';
import { KEY_BACKEND, type LocalKeyBackend } from '../src/keys/index.js';
import { bracketed, CLAIMS } from './ceiling.js';
import { percentile, runLoad, runMeasuredLoad, type LoadResult } from './load.js';

export interface BenchOptions {
  n: number;
  /** Unmeasured operations of the same kind before each row: measured at the steady state, not during JIT warm-up. */
  warmUp: number;
  concurrency: number;
  port: number;
  chainPort: number;
  dataDir: string;
  databaseEnv: Record<string, string>;
  profileDir?: string;
  label: string;
}

export interface Row {
  label: string;
  perSecond: number;
  ceiling: 'sign' | 'verify';
  p50Ms?: number;
  p99Ms?: number;
  /** CPU time of the service process (all its threads) per operation, in microseconds (HTTP: warm-up included). */
  cpuMicros?: number;
  /** The raw rate of the row's ceiling measured right before and after the row (their mean), see `bracketed`. */
  nearCeiling?: number;
}

type Format = 'dc+sd-jwt' | 'jwt_vc_json';

/** Closed-loop in-process rate at `concurrency`, with per-operation latencies. */
async function inProcess(count: number, concurrency: number, task: (i: number) => Promise<unknown>) {
  let next = 0;
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await task(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // CPU per operation moves far less than the rate when other jobs share the machine.
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(loop).utilization;
  latencies.sort((a, b) => a - b);
  return {
    busy,
    perSecond: count / seconds,
    cpuMicros: (used.user + used.system) / count,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function profiled<T>(
  dir: string | undefined,
  name: string,
  run: () => Promise<T>,
  { allocations = true }: { allocations?: boolean } = {},
): Promise<T> {
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 250 µs instead of the default 1 ms: a few-second run still gives thousands of samples.
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  // Allocations too, those a scavenge collects included: what the young generation's pauses are made of.
  if (allocations) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 16 * 1024,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
  }
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    if (allocations) {
      const { profile: sampled } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(join(dir, `${name}.heapprofile`), JSON.stringify(sampled));
    }
    console.log(`  profile written: ${file}${allocations ? ', .heapprofile (allocations)' : ''}`);
    session.disconnect();
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`bench: ${what} not ready after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function benchService(options: BenchOptions): Promise<Row[]> {
  mkdirSync(options.dataDir, { recursive: true });
  const running: RunningApp = await startApp(
    loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: String(options.port),
      PUBLIC_URL: `http://127.0.0.1:${options.port}`,
      DATA_DIR: options.dataDir,
      CHAIN_EMBEDDED_PORT: String(options.chainPort),
      DEMO_AGENCY: 'true',
      ...(process.env.KMS_SIGNING_THREAD ? { KMS_SIGNING_THREAD: process.env.KMS_SIGNING_THREAD } : {}),
      // Chain and outbox polling at their defaults: what a deployment pays while it serves.
      ...options.databaseEnv,
    }),
  );
  try {
    const { app, url } = running;
    const demo = await until('demo agency file', async () => new DemoCredentialsFile(running.config).read().demoAgency);
    const agencies = app.get(AgencyService);
    const authorisations = app.get(AuthorisationService);
    await until('agency and authorisations', async () => {
      const agency = await agencies.get(demo.id);
      const ready = (await authorisations.list(demo.id)).every((entry) => entry.status === 'active');
      return agency.status === 'active' && ready ? true : undefined;
    });
    const agency = await agencies.get(demo.id);
    const issuance = app.get(IssuanceService);
    const verifier = app.get(VerifierService);
    const issueOne = async (format: Format) =>
      (await issuance.issue(agency, { typeId: 'driving-licence', claims: CLAIMS, format })).credential;
    // The first status lists are published at activation and anchored asynchronously: wait until a
    // credential of each format verifies, status and anchor included (no 404, no unanchored list).
    for (const format of ['dc+sd-jwt', 'jwt_vc_json'] as const) {
      const credential = await issueOne(format);
      await until(`status list anchors (${format})`, async () =>
        (await verifier.verifyCredential(credential)).verified ? true : undefined,
      );
    }

    const rows: Row[] = [];
    const { n, concurrency, warmUp } = options;
    const format: Format = 'dc+sd-jwt';
    // Warm-up: JIT (a request path reaches V8's optimised tiers after some thousands of calls), statement
    // caches, key and authorisation caches, first index blocks.
    await inProcess(warmUp, concurrency, () => issueOne(format));
    const issued: string[] = [];
    const before = issuance.groupCommitStats;
    const walSync = app.get(Database).walSync;
    const flushesBefore = { n: walSync?.flushes ?? 0, ms: walSync?.flushMs ?? 0 };
    const signatures = app.get<LocalKeyBackend>(KEY_BACKEND, { strict: false }).signatures;
    const signedBefore = { ...signatures };
    let pauses: GcPauses | undefined;
    const { result: issueRate, nearCeiling: issueCeiling } = await bracketed('sign', () =>
      profiled(options.profileDir, `${options.label}-issue`, () => {
        pauses = new GcPauses();
        return inProcess(n, concurrency, async () => issued.push(await issueOne(format)));
      }),
    );
    const after = issuance.groupCommitStats;
    const flushes = walSync
      ? `${walSync.flushes - flushesBefore.n} WAL flushes, mean flush ` +
        `${((walSync.flushMs - flushesBefore.ms) / Math.max(1, walSync.flushes - flushesBefore.n)).toFixed(2)} ms, `
      : '';
    console.log(
      `  ${options.label}: in-process issue x${concurrency}, ${after.groups - before.groups} group commits, ${flushes}` +
        `event loop busy ${(issueRate.busy * 100).toFixed(0)} %, signatures on the signing thread ` +
        `${percentOf(signatures.onThread - signedBefore.onThread, signatures.inline - signedBefore.inline)} %, ${pauses?.stop()}`,
    );
    const groupSize = (after.jobs - before.jobs) / Math.max(1, after.groups - before.groups);
    rows.push({
      label: `issue ${format}, in-process x${concurrency} (group ${groupSize.toFixed(1)})`,
      ceiling: 'sign',
      ...issueRate,
      nearCeiling: issueCeiling,
    });
    const issue8 = await bracketed('sign', () => inProcess(n, 8, () => issueOne(format)));
    rows.push({ label: `issue ${format}, in-process x8`, ceiling: 'sign', ...issue8.result, nearCeiling: issue8.nearCeiling });
    const verifyOne = async (i: number) => {
      const result = await verifier.verifyCredential(issued[i % issued.length]!);
      if (!result.verified) throw new Error(JSON.stringify(result.checks));
    };
    await inProcess(warmUp, 1, verifyOne);
    const verifyRate = await bracketed('verify', () =>
      profiled(options.profileDir, `${options.label}-verify`, () => inProcess(n, 1, verifyOne)),
    );
    rows.push({
      label: `verify ${format} incl. status, in-process`,
      ceiling: 'verify',
      ...verifyRate.result,
      nearCeiling: verifyRate.nearCeiling,
    });

    const issueSpec = {
      url: `${url}/credentials/issue`,
      method: 'POST' as const,
      headers: { authorization: `Bearer ${demo.apiKey}`, 'content-type': 'application/json' },
      bodies: [
        JSON.stringify({ credential: { type: 'DrivingLicenceCredential', credentialSubject: CLAIMS }, options: { format } }),
      ],
      expectStatus: 201,
      concurrency,
      count: n,
    };
    const verifySpec = {
      url: `${url}/credentials/verify`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      bodies: issued.slice(0, 64).map((credential) => JSON.stringify({ verifiableCredential: credential })),
      expectStatus: 200,
      concurrency,
      count: n,
    };
    for (const [what, spec, ceiling] of [
      ['issue', issueSpec, 'sign'],
      ['verify', verifySpec, 'verify'],
    ] as const) {
      // The service runs on this thread and the load generator in a child process: the profile and the
      // CPU time are the server's.
      // The service is warmed by one load generator, then measured by another that warms itself first (each
      // fresh process is as cold as the service was); the counters start when the measured requests do.
      await runLoad({ ...spec, count: warmUp });
      let loop = performance.eventLoopUtilization();
      let groups = issuance.groupCommitStats;
      const signatures = app.get<LocalKeyBackend>(KEY_BACKEND, { strict: false }).signatures;
      let signedBefore = { ...signatures };
      const { result: peak, nearCeiling: peakCeiling } = await bracketed(ceiling, async () => {
        const measured = checked(
          await profiled(options.profileDir, `${options.label}-http-${what}`, () =>
            runMeasuredLoad({ ...spec, warmUp }, () => {
              loop = performance.eventLoopUtilization();
              groups = issuance.groupCommitStats;
              signedBefore = { ...signatures };
            }),
          ),
        );
        // How busy the service's event loop was at the peak: near 100 % means the service thread is the bound.
        return { ...measured, busy: performance.eventLoopUtilization(loop).utilization, grouped: issuance.groupCommitStats };
      });
      const { busy, grouped } = peak;
      const meanGroup = (grouped.jobs - groups.jobs) / Math.max(1, grouped.groups - groups.groups);
      console.log(
        `  ${options.label}: HTTP ${what} at peak, service event loop busy ${(busy * 100).toFixed(0)} %, ` +
          `load generator CPU ${peak.clientCpuMicros.toFixed(0)} µs/request` +
          (what === 'issue'
            ? `, mean group commit ${meanGroup.toFixed(1)}, signatures on the signing thread ` +
              `${percentOf(signatures.onThread - signedBefore.onThread, signatures.inline - signedBefore.inline)} %`
            : ''),
      );
      // Event-loop stalls during the half-rate run: when p99 latency is far above p50, this says whether
      // the service thread was blocked (GC, a long synchronous task) or requests queued elsewhere.
      // Installed before the load generator's warm-up at half rate and only reset when the measured part starts,
      // so that no instrument starts inside the window: in a probe, a JavaScript 1 ms timer and a GC observer
      // started at the window's start made one episode of ~200 late answers there (alone the window's p99) in
      // three runs of four; these instruments, started there, did not in three runs (docs/notes/perf.md, round 26).
      const stalls = monitorEventLoopDelay({ resolution: 1 });
      const pauses = new GcPauses();
      const served = new ServedLatency(app.getHttpServer() as Server);
      stalls.enable();
      let flushesBeforeHalf = 0;
      let usageBeforeHalf = process.resourceUsage();
      let runQueueBeforeHalf = mainThreadRunQueueMs();
      let loopBeforeHalf = performance.eventLoopUtilization();
      // Profiled too (CPU only): the timeline shows what held the event loop when the tail formed.
      const half = checked(
        await profiled(
          options.profileDir,
          `${options.label}-http-${what}-half-rate`,
          () =>
            runLoad(
              { ...spec, count: Math.max(100, Math.round(peak.perSecond * 5)), ratePerSecond: peak.perSecond / 2, warmUp },
              () => {
                pauses.reset();
                served.reset();
                stalls.reset();
                flushesBeforeHalf = walSync?.flushes ?? 0;
                usageBeforeHalf = process.resourceUsage();
                runQueueBeforeHalf = mainThreadRunQueueMs();
                if (walSync) walSync.longestFlushMs = 0;
                loopBeforeHalf = performance.eventLoopUtilization();
              },
            ),
          { allocations: false },
        ),
      );
      stalls.disable();
      const halfBusy = performance.eventLoopUtilization(loopBeforeHalf).utilization;
      // Preemptions: times the kernel took a core from one of the service's threads to run another process
      // (the load generator, the database, the chain node share the machine). A stall the profile cannot see.
      const preempted = process.resourceUsage().involuntaryContextSwitches - usageBeforeHalf.involuntaryContextSwitches;
      const runQueue = mainThreadRunQueueMs();
      const waited =
        runQueue === undefined || runQueueBeforeHalf === undefined
          ? ''
          : `, waited ${(runQueue - runQueueBeforeHalf).toFixed(0)} ms for a core`;
      console.log(
        `  ${options.label}: HTTP ${what} at half rate, client p50 ${half.p50Ms.toFixed(1)} / p99 ${half.p99Ms.toFixed(1)} ms ` +
          `(the slowest 1 % in ${half.tail.episodes} episodes, the largest ${half.tail.largest} requests sent over ` +
          `${half.tail.largestSpanMs.toFixed(0)} ms), ` +
          `${served.stop()}, load generator's event-loop delay p99 ${half.clientLoopDelayMs.p99.toFixed(1)} / ` +
          `max ${half.clientLoopDelayMs.max.toFixed(1)} ms; service event-loop delay p99 ${(stalls.percentile(99) / 1e6).toFixed(1)} ms, ` +
          `max ${(stalls.max / 1e6).toFixed(1)} ms, busy ${(halfBusy * 100).toFixed(0)} %, preempted ${preempted} times${waited}; ${pauses.stop()}` +
          (walSync && what === 'issue'
            ? `; ${walSync.flushes - flushesBeforeHalf} WAL flushes, longest ${walSync.longestFlushMs.toFixed(1)} ms`
            : ''),
      );
      rows.push({
        label: `${what} ${format}, HTTP x${concurrency}`,
        ceiling,
        perSecond: peak.perSecond,
        cpuMicros: peak.cpuMicros,
        nearCeiling: peakCeiling,
        p50Ms: half.p50Ms,
        p99Ms: half.p99Ms,
      });
    }
    return rows;
  } finally {
    await running.close();
  }
}

/** `part` as a whole percentage of `part + rest`. */
const percentOf = (part: number, rest: number) => ((100 * part) / Math.max(1, part + rest)).toFixed(0);

/**
 * How long the service held each request: from its headers parsed to its response handed to the socket. The
 * client's latency minus this is time spent before the service read the request (an event loop busy or
 * stalled, the process not scheduled) or after it answered (the client's own process).
 */
class ServedLatency {
  private readonly durations: number[] = [];
  private readonly onRequest = (_request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.once('finish', () => this.durations.push(performance.now() - started));
  };

  constructor(private readonly server: Server) {
    // Before Fastify's own listener, so the time includes its routing and body parsing.
    server.prependListener('request', this.onRequest);
  }

  /** Forgets the requests served so far (the warm-up's), still listening. */
  reset(): void {
    this.durations.length = 0;
  }

  stop(): string {
    this.server.off('request', this.onRequest);
    const sorted = this.durations.sort((a, b) => a - b);
    return `served in p50 ${percentile(sorted, 50).toFixed(1)} / p99 ${percentile(sorted, 99).toFixed(1)} ms`;
  }
}

/** Linux: how long the service's main thread has waited, runnable, for a core (`/proc/self/schedstat`). */
function mainThreadRunQueueMs(): number | undefined {
  try {
    const waitingNs = Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]);
    return Number.isFinite(waitingNs) ? waitingNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** The garbage collector's pauses of this process while it runs, by kind: what the event-loop stalls are made of. */
class GcPauses {
  private readonly byKind = new Map<string, { count: number; totalMs: number; maxMs: number }>();
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.add(entry);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Forgets the pauses so far, still observing. */
  reset(): void {
    this.observer.takeRecords();
    this.byKind.clear();
  }

  private add(entry: PerformanceEntry): void {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    const name =
      kind === perfConstants.NODE_PERFORMANCE_GC_MINOR
        ? 'scavenge'
        : kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR
          ? 'mark-compact'
          : kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL
            ? 'incremental marking'
            : 'other';
    const seen = this.byKind.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
    seen.count += 1;
    seen.totalMs += entry.duration;
    seen.maxMs = Math.max(seen.maxMs, entry.duration);
    this.byKind.set(name, seen);
  }

  /** Stops observing; one line: per kind, how many pauses, their longest and their sum. */
  stop(): string {
    for (const entry of this.observer.takeRecords()) this.add(entry);
    this.observer.disconnect();
    const kinds = [...this.byKind].map(
      ([name, seen]) => `${seen.count} ${name} (max ${seen.maxMs.toFixed(1)}, sum ${seen.totalMs.toFixed(0)} ms)`,
    );
    return `GC pauses: ${kinds.join(', ') || 'none'}`;
  }
}

function checked<T extends LoadResult>(result: T): T {
  if (result.errors > 0) throw new Error(`bench: ${result.errors} failed requests, first: ${result.firstError}`);
  return result;
}
