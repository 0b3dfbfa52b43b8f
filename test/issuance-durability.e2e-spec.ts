import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import BetterSqlite from 'better-sqlite3';
import pg from 'pg';
import { decodeJwt } from 'jose';
import { jest } from '@jest/globals';
import { EmbeddedChainNode } from '../src/chain/index.js';
import { OfferRepository } from '../src/issuer/offers/offer.repository.js';
import { Database, IdempotencyRepository, type Tx } from '../src/persistence/index.js';
import { IdempotencyService } from '../src/issuer/idempotency.js';
import { INDEX_BLOCK } from '../src/status/index.js';
import { childEntry } from './support/child-command.js';
import { testPort } from './support/ports.js';
import { createActiveAgency, eventually, httpCaller, startTestApp, testDatabase, type TestApp } from './support/test-app.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const LICENCE = DRIVING_LICENCE_CLAIMS;
const issueBody = (format: 'dc+sd-jwt' | 'jwt_vc_json', familyName = 'Li') => ({
  credential: { type: 'DrivingLicenceCredential', credentialSubject: { ...LICENCE, family_name: familyName } },
  options: { format },
});

/** The status index a credential names: Token Status List for SD-JWT VCs, the bitstring entry for JWT VCs. */
function statusIndex(credential: string): { listId: string; idx: number } {
  const payload = decodeJwt(credential.split('~')[0]!) as {
    status?: { status_list: { idx: number; uri: string } };
    credentialStatus?: { statusListIndex: string; statusListCredential: string }[];
  };
  if (payload.status) {
    return { listId: new URL(payload.status.status_list.uri).pathname.split('/')[2]!, idx: payload.status.status_list.idx };
  }
  const entry = payload.credentialStatus![0]!;
  return { listId: new URL(entry.statusListCredential).pathname.split('/')[2]!, idx: Number(entry.statusListIndex) };
}

describe('idempotent issuance', () => {
  let app: TestApp;
  let apiKey: string;

  beforeAll(async () => {
    app = await startTestApp();
    ({ apiKey } = await createActiveAgency(app, 'idempotent-office', 'Idempotent Office', ['driving-licence']));
  });
  afterAll(async () => {
    await app?.close();
  });

  const issue = (body: unknown, key?: string) =>
    app.call('POST', '/credentials/issue', { token: apiKey, body, headers: key ? { 'idempotency-key': key } : {} });

  it('returns the first credential to a retry with the same key, and 422 for the key with another body', async () => {
    const key = randomUUID();
    const first = await issue(issueBody('dc+sd-jwt'), key);
    expect(first.status).toBe(201);
    const retry = await issue(issueBody('dc+sd-jwt'), key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const other = await issue(issueBody('dc+sd-jwt', 'Wang'), key);
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('urn:chancery:problem:idempotency_key_reused');
    // Without a key every request issues.
    const a = await issue(issueBody('dc+sd-jwt'));
    const b = await issue(issueBody('dc+sd-jwt'));
    expect(a.body.credentialId).not.toBe(b.body.credentialId);
  });

  it('issues once for concurrent duplicates: the others get the same credential or 409 while it is in flight', async () => {
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 6 }, () => issue(issueBody('jwt_vc_json'), key)));
    const ok = replies.filter((reply) => reply.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((reply) => reply.body.credentialId)).size).toBe(1);
    for (const reply of replies.filter((r) => r.status !== 201)) {
      expect(reply.status).toBe(409);
      expect(reply.body.type).toBe('urn:chancery:problem:idempotency_request_in_progress');
    }
    const settled = await issue(issueBody('jwt_vc_json'), key);
    expect(settled.body.credentialId).toBe(ok[0]!.body.credentialId);
  });

  it('says when the key of a request cut long ago is free again, instead of "retry in a second"', async () => {
    // What a request killed mid-way (kill -9) leaves: its record in flight, holding the key until its lock ends.
    const { agency, apiKey: cutApiKey } = await createActiveAgency(app, 'cut-office', 'Cut Office', ['driving-licence']);
    const key = randomUUID();
    const body = issueBody('dc+sd-jwt');
    const lockMs = app.config.idempotency.inFlightSeconds * 1000;
    const began = Date.now() - 30_000;
    await app.app.get(IdempotencyRepository).insert({
      scope: `agency:${agency.id}`,
      key,
      requestHash: await app.app.get(IdempotencyService).fingerprint('POST', '/credentials/issue', body),
      state: 'in_flight',
      statusCode: null,
      sealedResponse: null,
      lockedUntil: began + lockMs,
      expiresAt: began + app.config.idempotency.ttlSeconds * 1000,
    });
    const retry = await app.call('POST', '/credentials/issue', { token: cutApiKey, body, headers: { 'idempotency-key': key } });
    expect(retry.status).toBe(409);
    expect(retry.body.type).toBe('urn:chancery:problem:idempotency_request_in_progress');
    const answered = Date.now();
    const freeIn = Number(retry.headers.get('retry-after'));
    // The lock's remaining time (the default lock is 120 s, 30 s of it gone), not one second; measured from
    // the answer, however long a loaded host took to give it.
    expect(freeIn).toBeGreaterThanOrEqual(Math.floor((began + lockMs - answered) / 1000));
    expect(freeIn).toBeLessThanOrEqual(lockMs / 1000 - 29);
    expect(retry.body.detail).toMatch(/interrupted or is still running.*free for a retry in \d+ s/);
  });

  it('keeps keys apart per agency, and frees a key whose request failed', async () => {
    const other = await createActiveAgency(app, 'other-office', 'Other Office', ['driving-licence']);
    const key = randomUUID();
    const mine = await issue(issueBody('dc+sd-jwt'), key);
    const theirs = await app.call('POST', '/credentials/issue', {
      token: other.apiKey,
      body: issueBody('dc+sd-jwt'),
      headers: { 'idempotency-key': key },
    });
    expect(theirs.status).toBe(201);
    expect(theirs.body.credentialId).not.toBe(mine.body.credentialId);

    const failing = randomUUID();
    const invalid = await issue({ credential: { type: 'DrivingLicenceCredential', credentialSubject: {} } }, failing);
    expect(invalid.status).toBe(400);
    const fixed = await issue({ credential: { type: 'DrivingLicenceCredential', credentialSubject: {} } }, failing);
    expect(fixed.status).toBe(400); // ran again (not a replay of a stored failure)
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('replays an officer offer for the same key (POST /agency/offers)', async () => {
    const key = randomUUID();
    const create = (claims: Record<string, unknown>) =>
      app.call('POST', '/agency/offers', {
        token: apiKey,
        headers: { 'idempotency-key': key },
        body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims },
      });
    const first = await create(LICENCE);
    expect(first.status).toBe(201);
    const retry = await create(LICENCE);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await create({ ...LICENCE, family_name: 'Wang' })).status).toBe(422);
  });

  it('answers 503 with Retry-After while the database has no room for writes, and issues again once it has', async () => {
    const db = app.app.get(Database);
    const sql = (statement: string) => db.use(undefined, (m) => m.query(statement));
    // A full disk, as each database reports it: SQLite may not grow its file; PostgreSQL raises disk_full (53100).
    const fill =
      app.config.database.kind === 'sqlite'
        ? async () => {
            const [{ page_count: pages }] = (await sql('PRAGMA page_count')) as { page_count: number }[];
            await sql(`PRAGMA max_page_count = ${pages}`);
          }
        : async () => {
            await sql(`CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
            await sql(
              'CREATE TRIGGER test_disk_full BEFORE INSERT ON issued_credentials FOR EACH ROW EXECUTE FUNCTION test_disk_full()',
            );
          };
    const makeRoom =
      app.config.database.kind === 'sqlite'
        ? () => sql('PRAGMA max_page_count = 1073741823')
        : () => sql('DROP TRIGGER test_disk_full ON issued_credentials; DROP FUNCTION test_disk_full()');
    await fill();
    try {
      // The file's free room runs out after a few credentials' rows (PostgreSQL: at the first).
      let refused = await issue(issueBody('dc+sd-jwt'));
      for (let i = 0; i < 500 && refused.status === 201; i++) refused = await issue(issueBody('dc+sd-jwt'));
      expect({ status: refused.status, type: refused.body.type }).toEqual({
        status: 503,
        type: expect.stringMatching(/database_unavailable$/),
      });
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.stringify(refused.body)).not.toMatch(/SQLITE|disk_full|No space|at \w/);
    } finally {
      await makeRoom();
    }
    expect((await issue(issueBody('dc+sd-jwt'))).status).toBe(201);
  });

  it('frees the key of an offer whose transaction rolled back after storing its answer: the retry runs', async () => {
    const key = randomUUID();
    const create = () =>
      app.call('POST', '/agency/offers', {
        token: apiKey,
        headers: { 'idempotency-key': key },
        body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE },
      });
    // The transaction the offer's row is inserted in fails once at its end, after the handler stored its answer
    // in it: neither commits, and the key must not stay taken until IDEMPOTENCY_IN_FLIGHT_SECONDS.
    const offerTransactions = new Set<Tx | undefined>();
    const insertOffer = OfferRepository.prototype.insert;
    const inserting = jest.spyOn(OfferRepository.prototype, 'insert').mockImplementation(function (
      this: OfferRepository,
      offer,
      tx,
    ) {
      offerTransactions.add(tx);
      return insertOffer.call(this, offer, tx);
    });
    const transaction = Database.prototype.transaction;
    let failures = 0;
    const committing = jest.spyOn(Database.prototype, 'transaction').mockImplementation(function (
      this: Database,
      fn: (tx: Tx) => Promise<unknown>,
    ) {
      return transaction.call(this, async (tx: Tx) => {
        const result = await fn(tx);
        if (offerTransactions.has(tx) && failures++ === 0) throw new Error('the commit failed');
        return result;
      });
    } as typeof transaction);
    try {
      const failed = await create();
      expect(failed.status).toBe(500);
      expect(failures).toBe(1);
    } finally {
      committing.mockRestore();
      inserting.mockRestore();
    }
    const retry = await create();
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await create();
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(retry.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

/** A child process running the whole service on a given database and chain node. */
async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; operatorApiKey: string }> {
  const child = spawn(process.execPath, childEntry('test/support/child-app.ts'), {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ url: string; operatorApiKey: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the service exited (${code}) before it listened`)));
    lines.on('line', (line) => {
      try {
        resolve(JSON.parse(line) as { url: string; operatorApiKey: string });
      } catch {
        // a log line
      }
    });
  });
  return { child, ...ready };
}

/** Raw SQL against the test database, to see exactly what the service left behind. */
async function openDatabase(): Promise<{
  env: Record<string, string>;
  query<T>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}> {
  const database = await testDatabase();
  if (database.config.kind === 'postgres') {
    const url = database.config.url;
    return {
      env: database.env,
      async query<T>(sql: string) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(sql)).rows as T[];
        } finally {
          await client.end();
        }
      },
      drop: () => database.drop(),
    };
  }
  const path = database.config.path;
  return {
    env: database.env,
    async query<T>(sql: string) {
      const db = new BetterSqlite(path, { readonly: true });
      try {
        return db.prepare(sql).all() as T[];
      } finally {
        db.close();
      }
    },
    drop: () => database.drop(),
  };
}

/**
 * kill -9 in the middle of a burst of issuances, then a restart on the same database: every credential
 * handed out has its record and status index, no index is used twice, none is reserved without a
 * record, and a retry with the same Idempotency-Key gets the credential that was committed.
 */
describe('issuance survives kill -9', () => {
  let chain: EmbeddedChainNode;
  let database: Awaited<ReturnType<typeof openDatabase>>;
  let child: ChildProcess | undefined;
  let dataDir: string;

  beforeAll(async () => {
    chain = await EmbeddedChainNode.start({ chainId: 7777, port: await testPort() });
    database = await openDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'chancery-data-'));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await chain?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no credential it handed out and orphans or reuses no status index', async () => {
    const port = await testPort();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      CHAIN_RPC_URL: chain.rpcUrl,
      CHAIN_POLL_MS: '50',
      OUTBOX_POLL_MS: '100',
      STATUS_PUBLISH_INTERVAL_MS: '200',
      KMS_MASTER_KEY: randomBytes(32).toString('base64'),
      OPERATOR_API_KEY: randomBytes(24).toString('base64url'),
      DEMO_AGENCY: 'false',
      // A request cut off by the crash blocks its key only briefly.
      IDEMPOTENCY_IN_FLIGHT_SECONDS: '5',
      ...database.env,
    };
    let running = await startChild(env);
    child = running.child;
    const call = httpCaller(() => running.url);
    const facade = {
      call,
      operator: (method: string, path: string, body?: unknown) => call(method, path, { body, token: env.OPERATOR_API_KEY }),
    } as unknown as TestApp;
    const { apiKey } = await createActiveAgency(facade, 'crash-office', 'Crash Office', ['driving-licence']);

    // A burst of issuances, each with its own key; kill -9 as soon as a few have been answered. Killed from
    // the answer's own callback and with many group commits' worth of requests: a group of up to 32
    // answers at once, and a poll noticing the answers later could find the whole burst done. A test process
    // starved of CPU by other jobs can still take in its fifth answer after the service has answered them all
    // (it once did, with 120 requests): then the burst is sent again to a restarted service, until a kill
    // cuts one short.
    const burst: { key: string; body: ReturnType<typeof issueBody> }[] = [];
    const answered = new Map<string, { credentialId: string; credential: string }>();
    for (let round = 1; ; round++) {
      const sent = Array.from({ length: 360 }, (_, i) => ({
        key: randomUUID(),
        body: issueBody(i % 2 ? 'jwt_vc_json' : 'dc+sd-jwt'),
      }));
      burst.push(...sent);
      let answeredNow = 0;
      const requests = sent.map(({ key, body }) =>
        call('POST', '/credentials/issue', { token: apiKey, body, headers: { 'idempotency-key': key } }).then(
          (reply) => {
            if (reply.status !== 201) throw new Error(`issuance answered ${reply.status}`);
            answered.set(key, reply.body as { credentialId: string; credential: string });
            if (++answeredNow === 5) running.child.kill('SIGKILL');
          },
          () => undefined, // cut off by the crash
        ),
      );
      await Promise.all(requests);
      running.child.kill('SIGKILL'); // already dead, unless fewer than five were answered (the next line fails)
      expect(answeredNow).toBeGreaterThanOrEqual(5);
      if (answeredNow < sent.length) break; // the crash did cut this burst short
      expect(round).toBeLessThan(5);
      running = await startChild(env);
      child = running.child;
    }
    const handedOut = new Map(answered);

    running = await startChild(env);
    child = running.child;

    const issued = await database.query<{ id: string; digest: string }>('SELECT id, digest FROM issued_credentials');
    const entries = await database.query<{ list_id: string; idx: number; credential_id: string }>(
      'SELECT list_id, idx, credential_id FROM status_entries',
    );
    const issuedIds = new Set(issued.map((row) => row.id));
    const entryByCredential = new Map(entries.map((row) => [row.credential_id, row]));
    // Every credential handed out is recorded, with the status index it names.
    for (const { credentialId, credential } of handedOut.values()) {
      expect(issuedIds.has(credentialId)).toBe(true);
      const entry = entryByCredential.get(credentialId);
      const named = statusIndex(credential);
      expect(entry && { listId: entry.list_id, idx: Number(entry.idx) }).toEqual(named);
    }
    // No index used twice, none reserved without a record, and the counters agree (a list counts the
    // indices of its reserved blocks).
    expect(new Set(entries.map((row) => `${row.list_id}:${row.idx}`)).size).toBe(entries.length);
    expect(entries.filter((row) => !issuedIds.has(row.credential_id))).toEqual([]);
    expect(issued.filter((row) => !entryByCredential.has(row.id))).toEqual([]);
    const used = await database.query<{ id: string; used: number | string }>('SELECT id, used FROM status_lists');
    const reserved = await database.query<{ list_id: string }>('SELECT list_id FROM status_index_blocks');
    for (const list of used) {
      expect(Number(list.used)).toBe(INDEX_BLOCK * reserved.filter((row) => row.list_id === list.id).length);
      expect(entries.filter((row) => row.list_id === list.id).length).toBeLessThanOrEqual(Number(list.used));
    }

    // Every request retried with its key after the restart: answered ones get their credential back,
    // the others get the credential that was committed before the crash, or a new one; one each.
    for (const { key, body } of burst) {
      const retry = await eventually(async () => {
        const reply = await call('POST', '/credentials/issue', { token: apiKey, body, headers: { 'idempotency-key': key } });
        return reply.status === 409 ? undefined : reply;
      }, 30_000);
      expect(retry.status).toBe(201);
      const first = handedOut.get(key);
      if (first) expect(retry.body.credentialId).toBe(first.credentialId);
      handedOut.set(key, retry.body as { credentialId: string; credential: string });
    }
    const after = await database.query<{ id: string }>('SELECT id FROM issued_credentials');
    expect(after.length).toBe(burst.length);
    expect(new Set([...handedOut.values()].map((c) => c.credentialId)).size).toBe(burst.length);
    // A few more after the restart, so the restarted process issues some whatever the crash cut: the whole
    // burst may have committed before it (groups commit without waiting for each other's flush).
    for (let i = 0; i < 5; i++) {
      const reply = await call('POST', '/credentials/issue', { token: apiKey, body: issueBody('dc+sd-jwt') });
      expect(reply.status).toBe(201);
    }

    // Indices come from durably reserved blocks: every index lies in a reserved block, and a block the
    // killed process reserved is never handed out again by the restarted one (its unused indices are skipped).
    const blocks = await database.query<{ list_id: string; block: number; reserved_by: string }>(
      'SELECT list_id, block, reserved_by FROM status_index_blocks',
    );
    const owner = new Map(blocks.map((row) => [`${row.list_id}:${Number(row.block)}`, row.reserved_by]));
    const finalEntries = await database.query<{ list_id: string; idx: number; credential_id: string }>(
      'SELECT list_id, idx, credential_id FROM status_entries',
    );
    expect(new Set(finalEntries.map((row) => `${row.list_id}:${row.idx}`)).size).toBe(finalEntries.length);
    const blockOf = (row: { list_id: string; idx: number }) => `${row.list_id}:${Math.floor(Number(row.idx) / INDEX_BLOCK)}`;
    for (const row of finalEntries) expect(owner.has(blockOf(row))).toBe(true);
    const beforeCrash = new Set(finalEntries.filter((row) => issuedIds.has(row.credential_id)).map(blockOf));
    const afterRestart = finalEntries.filter((row) => !issuedIds.has(row.credential_id));
    expect(afterRestart.length).toBeGreaterThan(0);
    for (const row of afterRestart) expect(beforeCrash.has(blockOf(row))).toBe(false);

    // Every credential recorded has exactly one `credential.issued` entry in the hash chain, consecutive and
    // linked: on PostgreSQL, entries the killed process left pending (ADR 20) are chained by the restarted one.
    await eventually(async () => {
      const [pending] = await database.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM audit_pending');
      return Number(pending!.n) === 0 ? true : undefined;
    }, 30_000);
    const trail = await database.query<{
      seq: number | string;
      kind: string;
      subject: string;
      prev_hash: string;
      entry_hash: string;
    }>('SELECT seq, kind, subject, prev_hash, entry_hash FROM audit_entries ORDER BY seq');
    trail.forEach((row, i) => {
      expect(Number(row.seq)).toBe(i + 1);
      if (i > 0) expect(row.prev_hash).toBe(trail[i - 1]!.entry_hash);
    });
    const issuedEntries = trail.filter((row) => row.kind === 'credential.issued').map((row) => row.subject);
    const recorded = await database.query<{ id: string }>('SELECT id FROM issued_credentials');
    expect(recorded.length).toBe(burst.length + 5);
    expect(issuedEntries.sort()).toEqual(recorded.map((row) => `credential:${row.id}`).sort());

    // Still verifiable after the restart, status included.
    const verified = await call('POST', '/credentials/verify', {
      body: { verifiableCredential: handedOut.get(burst[0]!.key)!.credential },
    });
    expect(verified.body.checks.find((c: { check: string }) => c.check === 'status')).toEqual(
      expect.objectContaining({ passed: true }),
    );

    // SIGTERM during a burst, and SIGINT right after it (Ctrl-C on a cluster reaches a worker twice): the requests
    // under way are answered before anything they need is closed, so no credential is committed and never
    // delivered (every row the burst added was answered 201); the second signal changes nothing.
    const rowsBefore = (await database.query<{ id: string }>('SELECT id FROM issued_credentials')).length;
    const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
    let answeredBeforeStop = 0;
    await Promise.all(
      Array.from({ length: 96 }, (_, i) =>
        call('POST', '/credentials/issue', { token: apiKey, body: issueBody(i % 2 ? 'jwt_vc_json' : 'dc+sd-jwt') }).then(
          (reply) => {
            if (reply.status === 201 && ++answeredBeforeStop === 5) {
              running.child.kill('SIGTERM');
              setTimeout(() => running.child.kill('SIGINT'), 20);
            }
          },
          () => undefined, // refused once the service stopped taking connections
        ),
      ),
    );
    expect(await exited).toBe(0);
    child = undefined;
    const rowsAfter = (await database.query<{ id: string }>('SELECT id FROM issued_credentials')).length;
    expect(answeredBeforeStop).toBeGreaterThanOrEqual(5);
    expect(rowsAfter - rowsBefore).toBe(answeredBeforeStop);
  });
});
