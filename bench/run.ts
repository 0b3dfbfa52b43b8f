// npm run bench [-- --profile]
// Issue and verify dc+sd-jwt credentials on SQLite and on PostgreSQL, in-process and over HTTP (load
// generated in a child process), with p50/p99 at half the peak rate, each as a ratio to the raw
// node:crypto ES256 rate measured in the same run, next to the @sd-jwt/sd-jwt-vc library alone and a
// bare Nest + Fastify route doing one signature.
//
// Environment (BENCH_* first, then the service's own names):
//   BENCH_N (1000)                 operations per row
//   BENCH_CONCURRENCY (32)         requests in flight (HTTP) / callers (in-process)
//   BENCH_WARMUP (3 x BENCH_N)     unmeasured operations of the same kind before every row (ceilings too):
//                                  V8 reaches its optimised tiers for a request path after some thousands of calls
//   BENCH_PORT, PORT               HTTP port of the service (default: a free port)
//   BENCH_DATA_DIR, DATA_DIR       where keys and the SQLite file go (default: a fresh temporary directory)
//   BENCH_CHAIN_PORT, CHAIN_EMBEDDED_PORT   the embedded chain node's port (default: a free port)
//   BENCH_POSTGRES_URL, TEST_POSTGRES_URL   admin URL; a fresh database is created and dropped
//                                  (default postgres://postgres@127.0.0.1:5432/test)
//   BENCH_DATABASES (sqlite,postgres)
//   BENCH_PROFILE_DIR (bench-profiles) where --profile writes .cpuprofile files
//   BENCH_RUNS (1), or --runs N    full runs; with more than one, per-row medians are printed at the end
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../src/chain/index.js';
import { bareNestRoute, libraryFloor, rawCeiling } from './ceiling.js';
import { benchService, type Row } from './service.js';

const env = (...names: string[]) => names.map((name) => process.env[name]).find((value) => value !== undefined && value !== '');
const N = Number(env('BENCH_N') ?? 1000);
const CONCURRENCY = Number(env('BENCH_CONCURRENCY') ?? 32);
const WARMUP = Number(env('BENCH_WARMUP') ?? 3 * N);
// `--runs N` (or BENCH_RUNS): N full runs, then the per-row medians (what the README records).
const runsArgument = process.argv.indexOf('--runs');
const RUNS = Math.max(1, Number(runsArgument > 0 ? process.argv[runsArgument + 1] : (env('BENCH_RUNS') ?? 1)));
const profileDir = process.argv.includes('--profile') ? (env('BENCH_PROFILE_DIR') ?? 'bench-profiles') : undefined;
const databases = (env('BENCH_DATABASES') ?? 'sqlite,postgres').split(',').map((d) => d.trim());
const adminUrl = env('BENCH_POSTGRES_URL', 'TEST_POSTGRES_URL') ?? 'postgres://postgres@127.0.0.1:5432/test';
const givenDataDir = env('BENCH_DATA_DIR', 'DATA_DIR');
const dataDir = givenDataDir ?? mkdtempSync(join(tmpdir(), 'chancery-bench-'));
const port = Number(env('BENCH_PORT', 'PORT') ?? (await freePort()));
const chainPort = Number(env('BENCH_CHAIN_PORT', 'CHAIN_EMBEDDED_PORT') ?? (await freePort()));

async function postgresDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> } | undefined> {
  const name = `chancery_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    console.log(`PostgreSQL at ${adminUrl} unavailable (${(error as Error).message}); skipped`);
    return undefined;
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Which malloc this process runs with (docs/adr/0051): jemalloc when scripts/with-allocator.sh found it. */
function allocator(): string {
  try {
    return /libjemalloc/.test(readFileSync('/proc/self/maps', 'utf8')) ? 'jemalloc' : "the C library's malloc";
  } catch {
    return 'unknown';
  }
}

const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '' : value.toFixed(digits));
const pad = (text: string, width: number) => text.padEnd(width);

/** One row of a run's table, its ratio computed against that run's own ceiling, and against the raw rate around it. */
interface Measured extends Row {
  database: string;
  ratio: number;
  nearRatio?: number;
}

const table = (rows: Measured[]) => {
  console.log(
    `\n${pad('database', 10)}${pad('operation', 48)}${pad('ops/s', 9)}${pad('ratio', 8)}${pad('near', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}cpu µs/op`,
  );
  for (const row of rows) {
    console.log(
      `${pad(row.database, 10)}${pad(row.label, 48)}${pad(fmt(row.perSecond), 9)}${pad(fmt(row.ratio, 3), 8)}${pad(fmt(row.nearRatio, 3), 8)}` +
        `${pad(fmt(row.p50Ms, 1), 9)}` +
        `${pad(fmt(row.p99Ms, 1), 9)}${fmt(row.cpuMicros)}`,
    );
  }
};

/** One full run: its own ceiling, the library and bare-route floors, then every service row. */
async function once(): Promise<Measured[]> {
  console.log(
    `Chancery benchmark: N=${N} per row after ${WARMUP} to warm up, concurrency ${CONCURRENCY}, Node ${process.version}, ${cpus().length} CPUs ` +
      `(${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, malloc: ${allocator()}`,
  );
  const ceiling = await rawCeiling();
  console.log(`raw node:crypto ES256 (P-256, 1.5 KB, one core): sign ${fmt(ceiling.sign)}/s, verify ${fmt(ceiling.verify)}/s`);
  const library = await libraryFloor(Math.min(N, 500), Math.min(WARMUP, 1500));
  const bare = await bareNestRoute(N, CONCURRENCY, WARMUP);
  // The load generator shares the two cores: its CPU per request bounds every HTTP row with the service's.
  console.log(
    `  bare routes at peak: load generator CPU ${bare.sign.result.clientCpuMicros.toFixed(0)} µs/request (sign), ` +
      `${bare.verify.result.clientCpuMicros.toFixed(0)} µs/request (verify)`,
  );
  const rows: (Row & { database: string })[] = [
    {
      database: '-',
      label: '@sd-jwt/sd-jwt-vc alone: issue',
      ceiling: 'sign',
      perSecond: library.issue.result,
      nearCeiling: library.issue.nearCeiling,
    },
    {
      database: '-',
      label: '@sd-jwt/sd-jwt-vc alone: verify',
      ceiling: 'verify',
      perSecond: library.verify.result,
      nearCeiling: library.verify.nearCeiling,
    },
    {
      database: '-',
      label: `bare Nest+Fastify, 1 signature, HTTP x${CONCURRENCY}`,
      ceiling: 'sign',
      perSecond: bare.sign.result.perSecond,
      cpuMicros: bare.sign.result.cpuMicros,
      nearCeiling: bare.sign.nearCeiling,
    },
    {
      database: '-',
      label: `bare Nest+Fastify, 1 verification, HTTP x${CONCURRENCY}`,
      ceiling: 'verify',
      perSecond: bare.verify.result.perSecond,
      cpuMicros: bare.verify.result.cpuMicros,
      nearCeiling: bare.verify.nearCeiling,
    },
  ];
  for (const database of databases) {
    const pgDb = database === 'postgres' ? await postgresDatabase() : undefined;
    if (database === 'postgres' && !pgDb) continue;
    try {
      const serviceRows = await benchService({
        n: N,
        warmUp: WARMUP,
        concurrency: CONCURRENCY,
        port,
        chainPort,
        dataDir: join(dataDir, `${database}-${randomBytes(3).toString('hex')}`),
        databaseEnv: pgDb?.env ?? {},
        profileDir,
        label: database,
      });
      rows.push(...serviceRows.map((row) => ({ ...row, database })));
    } finally {
      await pgDb?.drop();
    }
  }
  const measured = rows.map((row) => ({
    ...row,
    ratio: row.perSecond / (row.ceiling === 'sign' ? ceiling.sign : ceiling.verify),
    nearRatio: row.nearCeiling ? row.perSecond / row.nearCeiling : undefined,
  }));
  table(measured);
  return measured;
}

const median = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
  if (known.length === 0) return undefined;
  const middle = Math.floor(known.length / 2);
  return known.length % 2 ? known[middle] : (known[middle - 1]! + known[middle]!) / 2;
};
/** A row's identity across runs (the mean group size in its label varies from run to run). */
const rowKey = (row: Measured) => `${row.database} ${row.label.replace(/ \(group [\d.]+\)/, '')}`;

const runs: Measured[][] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    if (RUNS > 1) console.log(`\n=== run ${run} of ${RUNS}`);
    runs.push(await once());
  }
} finally {
  if (!givenDataDir) rmSync(dataDir, { recursive: true, force: true });
}
if (RUNS > 1) {
  console.log(`\n=== medians of ${RUNS} runs (each column the median of its own values; ratios against each run's ceiling)`);
  table(
    runs[0]!.map((first) => {
      const same = runs.map((rows) => rows.find((row) => rowKey(row) === rowKey(first)));
      const column = (pick: (row: Measured) => number | undefined) => median(same.map((row) => (row ? pick(row) : undefined)));
      return {
        ...first,
        label: rowKey(first).slice(first.database.length + 1),
        perSecond: column((row) => row.perSecond)!,
        ratio: column((row) => row.ratio)!,
        nearRatio: column((row) => row.nearRatio),
        p50Ms: column((row) => row.p50Ms),
        p99Ms: column((row) => row.p99Ms),
        cpuMicros: column((row) => row.cpuMicros),
      };
    }),
  );
}
console.log(
  '\nratio: to raw sign for issue rows, to raw verify for verify rows (measured once at the start of the run);\n' +
    'near: the same ratio against the raw rate measured for 0.5 s right before and right after the row (their mean),\n' +
    'so the host drifting during a run does not move it; p50/p99 of HTTP rows at half the peak rate;\n' +
    'cpu µs/op: CPU time of the service process (all its threads; the HTTP load generator is another process) per\n' +
    'operation, steadier than the rate on a shared machine.',
);
