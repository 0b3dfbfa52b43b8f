// Cluster mode end to end: the real entry point (src/main.ts, run from TypeScript through the test loader)
// with CLUSTER_WORKERS=2 becomes the node:cluster primary of src/cluster.ts. On PostgreSQL it joins the
// database and chain node of a normal test app, as a replica would; on SQLite it must refuse to start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EmbeddedChainNode } from '../src/chain/index.js';
import { childEntry } from './support/child-command.js';
import { sampleSum } from './support/metrics.js';
import { testPort } from './support/ports.js';
import { eventually, startTestApp, type TestApp } from './support/test-app.js';

const ENTRY = childEntry('src/main.ts');

/** A GET on a connection of its own (no keep-alive), so that the primary hands each one to a worker. */
function freshGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Live (not zombie) children of a process. */
function childPids(parent: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,stat='], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is none
  }
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, stat]) => pid && stat && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

if (process.env.TEST_DB === 'postgres') {
  describe('cluster mode (CLUSTER_WORKERS=2) through the real entry point', () => {
    let app: TestApp;
    let child: ChildProcess | undefined;
    let dataDir: string;
    const stdout: string[] = [];
    const stderr: string[] = [];

    beforeAll(async () => {
      app = await startTestApp();
      dataDir = mkdtempSync(join(tmpdir(), 'chancery-cluster-'));
    });
    afterAll(async () => {
      // The whole process group (primary and workers), if a failed assertion left it running.
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await app?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    /** pids that served `route` according to the workers' access log (pino writes each process's pid). */
    const servedBy = (route: string): Set<number> =>
      new Set(
        stdout.flatMap((line) => {
          try {
            const entry = JSON.parse(line) as { event?: string; route?: string; pid?: number };
            return entry.event === 'access' && entry.route === route && entry.pid ? [entry.pid] : [];
          } catch {
            return [];
          }
        }),
      );

    it('stops the whole cluster, instead of forking workers for ever, when a worker finds a node of another chain', async () => {
      const { database } = app.config;
      if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
      const other = await EmbeddedChainNode.start({ chainId: 7778, port: await testPort() });
      try {
        const cluster = spawn(process.execPath, ENTRY, {
          cwd: process.cwd(),
          env: {
            PATH: process.env.PATH ?? '',
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            HOST: '127.0.0.1',
            PORT: String(await testPort()),
            DATA_DIR: dataDir,
            DATABASE_URL: database.url,
            CHAIN_RPC_URL: other.rpcUrl,
            KMS_MASTER_KEY: app.config.keys.masterKey!.toString('base64'),
            OPERATOR_API_KEY: app.operatorApiKey,
            DEMO_AGENCY: 'false',
            CLUSTER_WORKERS: '2',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let err = '';
        cluster.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => cluster.once('close', (exit) => resolve(exit)));
        expect(code).toBe(3);
        expect(err).toContain('the chain node is on chain 7778, not CHAIN_ID 7777');
        expect(err).toContain('stopping the cluster');
        expect(err).not.toContain('starting another');
      } finally {
        await other.stop();
      }
    }, 120_000);

    it('serves from two workers, forks a killed worker again, and stops everything on SIGTERM', async () => {
      const chain = (await app.operator('GET', '/operator/chain')).body as {
        contracts: Record<string, string>;
        consortium: { governance: string };
      };
      const { database } = app.config;
      if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
      const port = await testPort();
      const operatorKey = app.operatorApiKey;
      child = spawn(process.execPath, ENTRY, {
        cwd: process.cwd(),
        detached: true, // its own process group, so that a failed run can be cleaned up whole
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          LOG_LEVEL: 'info', // the access log names the pid that served each request
          HOST: '127.0.0.1',
          PORT: String(port),
          PUBLIC_URL: app.config.http.publicUrl!,
          DATA_DIR: dataDir,
          DATABASE_URL: database.url,
          CHAIN_RPC_URL: app.rpcUrl,
          CHAIN_REGISTRY_ADDRESS: chain.contracts['EthereumDIDRegistry']!,
          CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: chain.contracts['TrustedIssuerRegistry']!,
          CHAIN_STATUS_ANCHOR_ADDRESS: chain.contracts['StatusListAnchor']!,
          CHAIN_CONSORTIUM_ADDRESS: chain.consortium.governance,
          CHAIN_POLL_MS: '50',
          OUTBOX_POLL_MS: '100',
          STATUS_PUBLISH_INTERVAL_MS: '100',
          KMS_MASTER_KEY: app.config.keys.masterKey!.toString('base64'),
          OPERATOR_API_KEY: operatorKey,
          DEMO_AGENCY: 'false',
          CLUSTER_WORKERS: '2',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const primary = child.pid!;
      createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
      createInterface({ input: child.stderr! }).on('line', (line) => {
        stderr.push(line);
        if (process.env.TEST_LOG_LEVEL === 'info') process.stderr.write(`[cluster] ${line}\n`);
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child!.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const running = () => child!.exitCode === null && child!.signalCode === null;

      // Both workers listen (each prints its "Chancery listening" line) and are the primary's children.
      await eventually(
        async () => {
          if (!running()) throw new Error(`the cluster exited: ${stderr.join('\n')}`);
          return stdout.filter((line) => line.startsWith('Chancery listening on')).length >= 2 ? true : undefined;
        },
        180_000,
        200,
      );
      const workers = childPids(primary);
      expect(workers).toHaveLength(2);

      // Requests are answered through the cluster's port.
      for (let i = 0; i < 20; i++) expect((await freshGet(port, '/health')).status).toBe(200);
      const auth = { authorization: `Bearer ${operatorKey}` };
      for (let i = 0; i < 20; i++) expect((await freshGet(port, '/operator/chain', auth)).status).toBe(200);
      // ... by both workers: the access log names each of the two worker pids, and no other process.
      const served = await eventually(async () => {
        const pids = servedBy('/operator/chain');
        return pids.size >= 2 ? pids : undefined;
      });
      expect([...served].sort()).toEqual([...workers].sort());

      // /metrics, whichever worker a scrape reaches, counts the requests of both (each worker alone served fewer).
      for (let i = 0; i < 4; i++) {
        const scraped = await freshGet(port, '/metrics');
        expect(scraped.status).toBe(200);
        expect(sampleSum(scraped.body, 'chancery_http_requests_total', { route: '/operator/chain', status: '200' })).toBe(20);
        expect(sampleSum(scraped.body, 'chancery_http_requests_total', { route: '/health', status: '200' })).toBe(20);
        expect(sampleSum(scraped.body, 'chancery_http_request_duration_seconds_count', { route: '/operator/chain' })).toBe(20);
        expect(sampleSum(scraped.body, 'chancery_chain_head_block')).toBeGreaterThan(0);
        expect(sampleSum(scraped.body, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      }

      // An agency created through the cluster becomes active.
      const base = `http://127.0.0.1:${port}`;
      const created = await fetch(`${base}/operator/agencies`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ slug: 'cluster-office', name: 'Cluster Office' }),
      });
      expect(created.status).toBe(201);
      const agencyId = ((await created.json()) as { agency: { id: string } }).agency.id;
      await eventually(
        async () => {
          const view = await fetch(`${base}/operator/agencies/${agencyId}`, { headers: auth });
          return ((await view.json()) as { status: string }).status === 'active' ? true : undefined;
        },
        120_000,
        200,
      );

      // kill -9 one worker: the primary forks another, which serves, and the cluster never stops answering.
      const [victim, survivor] = workers as [number, number];
      process.kill(victim, 'SIGKILL');
      const replacement = await eventually(
        async () => {
          const now = childPids(primary);
          return now.length === 2 && !now.includes(victim) && now.includes(survivor)
            ? now.find((pid) => pid !== survivor)
            : undefined;
        },
        120_000,
        200,
      );
      expect(alive(victim)).toBe(false);
      expect(stderr.some((line) => line.includes(`worker ${victim} exited (SIGKILL)`))).toBe(true);
      expect((await freshGet(port, '/health')).status).toBe(200);
      await eventually(
        async () => {
          for (let i = 0; i < 4; i++) expect((await freshGet(port, '/operator/chain', auth)).status).toBe(200);
          return servedBy('/operator/chain').has(replacement!) ? true : undefined;
        },
        180_000,
        500,
      );

      // SIGTERM to the primary: every worker stops, then the primary exits cleanly.
      const last = childPids(primary);
      expect(last).toHaveLength(2);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      await eventually(async () => (last.every((pid) => !alive(pid)) ? true : undefined), 30_000);
      await expect(freshGet(port, '/health')).rejects.toThrow();
    }, 600_000);
  });
} else {
  describe('cluster mode on SQLite', () => {
    it('refuses to start the entry point with CLUSTER_WORKERS=2, in one line naming DATABASE_URL', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'chancery-cluster-'));
      try {
        const child = spawn(process.execPath, ENTRY, {
          cwd: process.cwd(),
          env: {
            PATH: process.env.PATH ?? '',
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            PORT: String(await testPort()),
            DATA_DIR: dir,
            SQLITE_PATH: join(dir, 'test.sqlite'),
            // An external chain is configured: the only problem left is SQLite (nothing connects to it).
            CHAIN_RPC_URL: 'http://127.0.0.1:9',
            CLUSTER_WORKERS: '2',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('close', (exit) => resolve(exit)));
        expect(code).toBe(2);
        expect(out).toBe('');
        // The configuration error's heading and exactly one problem: SQLite, pointing at DATABASE_URL.
        const lines = err.trimEnd().split('\n');
        expect(lines).toHaveLength(2);
        expect(lines[0]).toBe('Invalid configuration:');
        expect(lines[1]).toMatch(/^ {2}- CLUSTER_WORKERS: .*\(DATABASE_URL\)/);
        // Refused before any start: no database file was created.
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
