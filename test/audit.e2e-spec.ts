import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, JsonRpcProvider } from 'ethers';
import { runCli } from '../src/cli.js';
import { AuditLog, UsageLog, entryHash, type AuditEntryRecord } from '../src/audit/index.js';
import { Database } from '../src/persistence/index.js';
import { createActiveAgency, eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';

const LICENCE = {
  family_name: '王',
  given_name: '芳',
  birth_date: '1988-07-14',
  licence_number: '440101198807141234',
  categories: ['C1'],
  issue_date: '2010-01-05',
  expiry_date: '2031-01-05',
};

/** What `audit:verify` prints (the members these tests read). */
interface AuditVerifyReport {
  anchors: { ok: boolean }[];
  anchoredThrough?: number;
  firstBroken?: { seq: number; problem: string };
  warnings?: string[];
}

/**
 * Issue 17 part 2: the hash-chained audit trail anchored on chain (audit:verify finds edited, deleted and
 * re-ordered rows; an inclusion proof checks against the root read from the contract with ethers), and the
 * holders' usage log (a holder sees exactly the verifications of their own credential).
 */
describe('audit trail and usage log', () => {
  let app: TestApp;
  let db: Database;
  let agencyKey: string;
  let agencyId: string;
  const alice = wallet();
  const bob = wallet();
  let aliceHeld: Awaited<ReturnType<typeof alice.receive>>;
  let bobHeld: Awaited<ReturnType<typeof bob.receive>>;
  const parties: Record<string, string> = {};

  const verifyCli = () =>
    runCli(['audit:verify'], {
      ...(app.config.database.kind === 'postgres'
        ? { DATABASE_URL: app.config.database.url }
        : { SQLITE_PATH: app.config.database.path }),
      CHAIN_RPC_URL: app.rpcUrl,
    }) as Promise<{ ok: boolean; output: AuditVerifyReport }>;
  const sql = (text: string, ...params: unknown[]) =>
    db.dataSource.query(
      app.dbKind === 'postgres' ? text.replace(/\?/g, (_, i: number) => `$${text.slice(0, i).split('?').length}`) : text,
      params,
    );
  const rowOf = async (seq: number) => (await sql('SELECT * FROM audit_entries WHERE seq = ?', seq))[0];

  const verifyWith = async (party: string, held: typeof aliceHeld, claims: string[], holder = alice) => {
    const created = await app.call('POST', '/rp/requests', {
      token: parties[party],
      body: {
        dcql_query: drivingLicenceQuery(app.config.http.publicUrl, claims),
      },
    });
    expect(created.status).toBe(201);
    expect((await holder.answer(created.body.link, held)).status).toBe(200);
    return created.body.id as string;
  };

  const myRecords = async (holder: typeof alice, held: typeof aliceHeld) => {
    const started = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    expect(started.status).toBe(201);
    expect((await holder.answer(started.body.link, held)).status).toBe(200);
    const outcome = await app.call('GET', `/citizens/records/requests/${started.body.id}?readToken=${started.body.readToken}`);
    expect(outcome.status).toBe(200);
    return { id: started.body.id as string, readToken: started.body.readToken as string, body: outcome.body };
  };

  beforeAll(async () => {
    app = await startTestApp({ AUDIT_ANCHOR_INTERVAL_MS: '0', PUBLIC_HOST: 'localhost', STATUS_LIST_MAX_AGE_SECONDS: '0' });
    db = app.app.get(Database);
    const created = await createActiveAgency(app, 'dmv-audit', 'Audit Vehicle Office', ['driving-licence']);
    agencyKey = created.apiKey;
    agencyId = created.agency.id;
    for (const [name, claims] of [
      ['Bank 银行', ['categories', 'expiry_date']],
      ['Police 交警', ['family_name', 'given_name', 'expiry_date']],
    ] as const) {
      const registered = await app.operator('POST', '/operator/relying-parties', {
        name,
        purpose: `${name} checks`,
        allowedClaims: { 'driving-licence': claims },
        clientIdPrefix: 'decentralized_identifier',
      });
      expect(registered.status).toBe(201);
      parties[name] = registered.body.apiKey;
    }
    const offer = (claims: object) => ({ type: 'driving-licence', formats: ['dc+sd-jwt'], claims, txCode: false });
    aliceHeld = await alice.receive(app, agencyKey, offer(LICENCE));
    bobHeld = await bob.receive(app, agencyKey, offer({ ...LICENCE, given_name: '强', licence_number: '440101198807149999' }));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('records a series of operations as linked entries without personal data', async () => {
    await verifyWith('Bank 银行', aliceHeld, ['categories', 'expiry_date']);
    await verifyWith('Police 交警', aliceHeld, ['family_name', 'given_name']);
    await verifyWith('Bank 银行', bobHeld, ['expiry_date'], bob);
    const issued = await app.call('POST', '/credentials/issue', {
      token: agencyKey,
      body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, options: { format: 'dc+sd-jwt' } },
    });
    expect(issued.status).toBe(201);
    expect(
      (
        await app.call('POST', `/credentials/${issued.body.credentialId}/status`, {
          token: agencyKey,
          body: { action: 'revoke', reason: 'lost' },
        })
      ).status,
    ).toBe(200);
    const key = await app.operator('POST', `/operator/agencies/${agencyId}/api-keys`, { label: 'desk' });
    const prefix = (key.body.apiKey as string).slice('chy_'.length, 'chy_'.length + 12);
    expect((await app.operator('DELETE', `/operator/agencies/${agencyId}/api-keys/${prefix}`)).status).toBe(204);
    // Concurrent appends (one request each, as replicas would) get consecutive numbers, each linked.
    const log = app.app.get(AuditLog);
    // Issuances in between: their group commit appends several entries at once (one head move).
    const issuing = Promise.all(
      Array.from({ length: 12 }, () =>
        app.call('POST', '/credentials/issue', {
          token: agencyKey,
          body: {
            credential: { type: 'DrivingLicenceCredential', credentialSubject: LICENCE },
            options: { format: 'dc+sd-jwt' },
          },
        }),
      ),
    );
    const appended = await Promise.all(
      Array.from({ length: 12 }, (_, i) => log.append({ kind: 'catalogue.changed', actor: 'system', subject: `test:${i}` })),
    );
    const issuedTogether = await issuing;
    const seqs = appended.map((entry) => entry.seq).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(12);
    for (const reply of issuedTogether) expect(reply.status).toBe(201);
    // PostgreSQL: the group commits' entries are chained just after their commit (ADR 20); wait for it.
    await log.seal();
    expect(await sql('SELECT * FROM audit_pending')).toEqual([]);

    const rows = (await sql('SELECT * FROM audit_entries ORDER BY seq')) as Record<string, string>[];
    // Consecutive numbers, each entry linked to the one before (audit:verify below checks the hashes).
    rows.forEach((row, i) => {
      expect(Number(row.seq)).toBe(i + 1);
      if (i > 0) expect(row.prev_hash).toBe(rows[i - 1]!.entry_hash);
    });
    for (const reply of issuedTogether) {
      expect(rows.filter((row) => row.subject === `credential:${reply.body.credentialId}`).map((row) => row.kind)).toEqual([
        'credential.issued',
      ]);
    }
    // The revocation came after its issuance, so its entry follows the issuance entry (a pending entry is
    // chained before any later append).
    const issuedAt = rows.findIndex((row) => row.subject === `credential:${issued.body.credentialId}`);
    const revokedAt = rows.findIndex(
      (row) =>
        row.kind === 'credential.status.changed' &&
        (JSON.parse(row.data!) as { credentials: string[] }).credentials.includes(issued.body.credentialId),
    );
    expect(issuedAt).toBeGreaterThanOrEqual(0);
    expect(revokedAt).toBeGreaterThan(issuedAt);
    const kinds = rows.map((row) => row.kind);
    for (const kind of [
      'agency.created',
      'agency.authorisation.changed',
      'relying_party.registered',
      'credential.issued',
      'presentation.verdict',
      'credential.status.changed',
      'agency.api_key.created',
      'agency.api_key.revoked',
    ])
      expect(kinds).toContain(kind);
    const verdicts = rows.filter((row) => row.kind === 'presentation.verdict').map((row) => JSON.parse(row.data));
    expect(verdicts[0]).toEqual(
      expect.objectContaining({ relyingParty: 'Bank 银行', purpose: 'Bank 银行 checks', verified: true }),
    );
    expect(verdicts[0].credentials[0].claims).toEqual(['categories', 'expiry_date']);
    const revoked = rows.find((row) => row.kind === 'credential.status.changed')!;
    expect(JSON.parse(revoked.data)).toEqual({ action: 'revoke', reason: 'lost', credentials: [issued.body.credentialId] });
    const text = JSON.stringify(rows);
    for (const value of [
      LICENCE.licence_number,
      LICENCE.family_name,
      LICENCE.given_name,
      LICENCE.birth_date,
      aliceHeld.credential.split('~')[0],
    ])
      expect(text).not.toContain(value);
  });

  it('chains an issuance entry left pending by a process that died before sealing it (ADR 20)', async () => {
    const [before] = await sql('SELECT seq, entry_hash FROM audit_head WHERE id = 1');
    const at = new Date().toISOString();
    // What a replica killed between its group commit and its seal leaves behind.
    await sql(
      'INSERT INTO audit_pending (at, kind, actor, subject, data) VALUES (?, ?, ?, ?, ?)',
      at,
      'credential.issued',
      'agency:crashed-replica',
      'credential:left-pending',
      '{"format":"dc+sd-jwt"}',
    );
    // Nobody calls anything: the sweep chains it.
    await eventually(async () => ((await sql('SELECT id FROM audit_pending')).length === 0 ? true : undefined), 30_000);
    const row = (await sql('SELECT * FROM audit_entries WHERE subject = ?', 'credential:left-pending'))[0];
    expect(row).toMatchObject({ at, kind: 'credential.issued', actor: 'agency:crashed-replica', data: '{"format":"dc+sd-jwt"}' });
    expect(Number(row.seq)).toBeGreaterThan(Number(before.seq));
    const entry = { ...row, seq: Number(row.seq), data: JSON.parse(row.data), prevHash: row.prev_hash };
    expect(entryHash(entry)).toBe(row.entry_hash);
    expect(row.prev_hash).toBe((await rowOf(Number(row.seq) - 1)).entry_hash);
    // The next append links to it.
    const next = await app.app
      .get(AuditLog)
      .append({ kind: 'catalogue.changed', actor: 'system', subject: 'test:after-pending' });
    expect(next.prevHash).toBe(row.entry_hash);
  });

  it('anchors the new entries on chain; an inclusion proof checks against the root read with ethers', async () => {
    const run = await app.operator('POST', '/operator/audit/anchors');
    expect(run.status).toBe(200);
    const { fromSeq, toSeq } = run.body.anchor;
    expect(fromSeq).toBe(1);
    await outboxSettled(app);
    // Nothing new: nothing to anchor; then one more entry makes the next range start right after.
    expect((await app.operator('POST', '/operator/audit/anchors')).body.anchor).toBeNull();

    const seq = Math.ceil(toSeq / 2);
    const view = await eventually(async () => {
      const reply = await app.operator('GET', `/audit/entries/${seq}`);
      return reply.body.anchor?.status === 'mined' ? reply.body : undefined;
    });
    expect(view.entry.seq).toBe(seq);
    expect(view.entry.entryHash).toBe(entryHash(view.entry as AuditEntryRecord));
    expect(view.anchor).toEqual(expect.objectContaining({ fromSeq, toSeq, txHash: expect.stringMatching(/^0x/) }));

    // The contract read directly: ABI from the artifact, plain ethers.
    const abi = JSON.parse(readFileSync(join(process.cwd(), 'contracts/artifacts/AuditAnchor.json'), 'utf8')).abi;
    const provider = new JsonRpcProvider(app.rpcUrl, undefined, { staticNetwork: true });
    try {
      const contract = new Contract(view.anchor.contract, abi, provider);
      const [, onChain] = await contract.getFunction('anchorOf')(view.anchor.department, seq);
      expect(onChain.root).toBe(view.anchor.root);
      expect([Number(onChain.fromSeq), Number(onChain.toSeq)]).toEqual([fromSeq, toSeq]);
      const receipt = await provider.getTransactionReceipt(view.anchor.txHash);
      expect(receipt?.blockNumber).toBe(view.anchor.blockNumber);
      // OpenZeppelin MerkleProof in the contract's view, and the leaf as the contract computes it.
      expect(await contract.getFunction('leafHash')(seq, '0x' + view.entry.entryHash)).toBe(view.leaf);
      expect(
        await contract.getFunction('verifyEntry')(view.anchor.department, seq, '0x' + view.entry.entryHash, view.proof),
      ).toBe(true);
      const forged = '0x' + 'ab'.repeat(32);
      expect(await contract.getFunction('verifyEntry')(view.anchor.department, seq, forged, view.proof)).toBe(false);
    } finally {
      provider.destroy();
    }
    expect((await app.operator('GET', '/audit/entries/999999')).status).toBe(404);
    expect((await app.call('GET', `/audit/entries/${seq}`)).status).toBe(401);
  });

  it("shows a holder exactly the verifications of their own credential, and nobody else's", async () => {
    const aliceView = await myRecords(alice, aliceHeld);
    expect(aliceView.body.status).toBe('verified');
    const aliceRecords = aliceView.body.records as {
      relyingParty: { name: string };
      claims: string[];
      verified: boolean;
      purpose: string;
    }[];
    expect(aliceRecords.map((record) => [record.relyingParty.name, record.claims, record.verified])).toEqual([
      ['Bank 银行', ['categories', 'expiry_date'], true],
      ['Police 交警', ['family_name', 'given_name'], true],
      [expect.stringContaining('用证记录'), ['expiry_date'], true],
    ]);
    expect(aliceRecords[0]!.purpose).toBe('Bank 银行 checks');

    const bobView = await myRecords(bob, bobHeld);
    expect((bobView.body.records as { relyingParty: { name: string } }[]).map((record) => record.relyingParty.name)).toEqual([
      'Bank 银行',
      expect.stringContaining('用证记录'),
    ]);
    // Without the read token of the request the holder answered, nothing.
    expect((await app.call('GET', `/citizens/records/requests/${aliceView.id}?readToken=${bobView.readToken}`)).status).toBe(404);
    expect((await app.call('GET', `/citizens/records/requests/${aliceView.id}`)).status).toBe(404);
    expect((await app.call('POST', '/citizens/records/requests', { body: { type: 'no-such-type' } })).status).toBe(400);
  });

  it('records no use for an answer nobody proved: a copied credential without its key, or junk, leaves no entry', async () => {
    const recorded = async (requestId: string) => ({
      entries: Number((await sql('SELECT COUNT(*) AS n FROM audit_entries WHERE subject = ?', `presentation:${requestId}`))[0].n),
      usage: Number((await sql('SELECT COUNT(*) AS n FROM credential_usage WHERE presentation_request_id = ?', requestId))[0].n),
    });
    const aliceBefore = ((await myRecords(alice, aliceHeld)).body.records as unknown[]).length;
    // Bob has a copy of Alice's credential but not her key: his key-binding JWT does not match its cnf.
    const copied = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    const answered = await bob.answer(copied.body.link, { ...aliceHeld, holderKey: bobHeld.holderKey });
    expect(answered.status).toBe(200);
    const copiedOutcome = await app.call(
      'GET',
      `/citizens/records/requests/${copied.body.id}?readToken=${copied.body.readToken}`,
    );
    expect(copiedOutcome.body.status).toBe('rejected');
    expect(await recorded(copied.body.id)).toEqual({ entries: 0, usage: 0 });
    // Anyone may answer a request whose link they saw with anything: nothing of it stays.
    const junk = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    const resolved = await bob.resolveRequest(junk.body.link);
    expect((await bob.submit(resolved, { [resolved.query.credentials[0]!.id]: ['eyJhbGciOiJFUzI1NiJ9.e30.AAAA~'] })).status).toBe(
      200,
    );
    expect(await recorded(junk.body.id)).toEqual({ entries: 0, usage: 0 });
    // Alice's records show her own look-up (this one) and nothing of Bob's attempt.
    const after = (await myRecords(alice, aliceHeld)).body.records as { verified: boolean }[];
    expect(after).toHaveLength(aliceBefore + 1);
    expect(after.every((record) => record.verified)).toBe(true);
  });

  it('never shows a lookup the verdict without its record: the answer, its audit entry and usage rows commit together', async () => {
    const usage = app.app.get(UsageLog);
    const started = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    expect(started.status).toBe(201);
    const lookup = () => app.call('GET', `/citizens/records/requests/${started.body.id}?readToken=${started.body.readToken}`);
    // The verdict's record is held back while the wallet's answer is being stored.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let recording!: () => void;
    const reachedRecord = new Promise<void>((resolve) => (recording = resolve));
    const recordVerdict = usage.recordVerdict.bind(usage);
    const held = jest.spyOn(usage, 'recordVerdict').mockImplementation(async (...args) => {
      recording();
      await gate;
      return recordVerdict(...args);
    });
    try {
      const answered = bob.answer(started.body.link, bobHeld);
      await reachedRecord;
      // PostgreSQL answers from what is committed (still pending); SQLite's one connection makes the lookup wait
      // for the commit. Either way never "verified" without records, nor "rejected" for a record not yet written:
      // an answer given while the record is held is pending, one given after is pending (read before the commit)
      // or verified with every record. Which of them it is depends on timing alone, so both are accepted.
      let recordHeld = true;
      const during = lookup().then((reply) => ({ reply, whileHeld: recordHeld }));
      await Promise.race([during, new Promise((resolve) => setTimeout(resolve, 500))]);
      recordHeld = false;
      openGate();
      expect((await answered).status).toBe(200);
      const verifiedWithRecords = (outcome: Awaited<ReturnType<typeof lookup>>) => {
        expect(outcome.status).toBe(200);
        expect(outcome.body.status).toBe('verified');
        expect((outcome.body.records as { relyingParty: { name: string } }[]).map((record) => record.relyingParty.name)).toEqual([
          'Bank 银行',
          expect.stringContaining('用证记录'),
          expect.stringContaining('用证记录'),
        ]);
      };
      const { reply, whileHeld } = await during;
      if (whileHeld || reply.body.status === 'pending') expect(reply.body).toEqual({ status: 'pending' });
      else verifiedWithRecords(reply);
      // A lookup made now.
      verifiedWithRecords(await lookup());
    } finally {
      openGate();
      held.mockRestore();
    }
  });

  it('audit:verify passes, then locates an edited, a deleted and a re-ordered row', async () => {
    // The records lookups above are entries too: anchor them as a second, contiguous range.
    const second = (await app.operator('POST', '/operator/audit/anchors')).body.anchor;
    expect(second.fromSeq).toBeGreaterThan(1);
    await outboxSettled(app);
    const clean = await verifyCli();
    expect(clean.ok).toBe(true);
    expect(clean.output.anchors).toHaveLength(2);
    expect(clean.output.anchoredThrough).toBe(second.toSeq);
    expect(clean.output.firstBroken).toBeUndefined();

    const seq = 5;
    const original = await rowOf(seq);
    await sql('UPDATE audit_entries SET actor = ? WHERE seq = ?', 'someone-else', seq);
    let report = await verifyCli();
    expect(report.ok).toBe(false);
    expect(report.output.firstBroken).toEqual(expect.objectContaining({ seq, problem: 'altered' }));
    await sql('UPDATE audit_entries SET actor = ? WHERE seq = ?', original.actor, seq);

    await sql('DELETE FROM audit_entries WHERE seq = ?', seq);
    report = await verifyCli();
    expect(report.output.firstBroken).toEqual(expect.objectContaining({ seq, problem: 'missing' }));
    await sql(
      'INSERT INTO audit_entries (seq, at, kind, actor, subject, data, prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ...['seq', 'at', 'kind', 'actor', 'subject', 'data', 'prev_hash', 'entry_hash'].map((column) => original[column]),
    );

    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', -1, seq);
    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', seq, seq + 1);
    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', seq + 1, -1);
    report = await verifyCli();
    expect(report.output.firstBroken).toEqual(expect.objectContaining({ seq, problem: 'reordered' }));
    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', -1, seq + 1);
    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', seq + 1, seq);
    await sql('UPDATE audit_entries SET seq = ? WHERE seq = ?', seq, -1);
    expect((await verifyCli()).ok).toBe(true);

    // An editor who recomputes every hash after the edit keeps the chain linked; the anchored root does not match.
    const rows = ((await sql('SELECT * FROM audit_entries WHERE seq >= ? ORDER BY seq', seq)) as Record<string, string>[]).map(
      (row) => ({
        seq: Number(row.seq),
        at: row.at!,
        kind: row.kind!,
        actor: row.actor!,
        subject: row.subject!,
        data: JSON.parse(row.data!),
        prevHash: row.prev_hash!,
      }),
    );
    let prevHash = rows[0]!.prevHash;
    for (const row of rows) {
      const content = { ...row, prevHash, actor: row.seq === seq ? 'someone-else' : row.actor };
      const hash = entryHash(content);
      await sql(
        'UPDATE audit_entries SET actor = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?',
        content.actor,
        prevHash,
        hash,
        row.seq,
      );
      prevHash = hash;
    }
    await sql('UPDATE audit_head SET entry_hash = ? WHERE id = 1', prevHash);
    report = await verifyCli();
    expect(report.output.firstBroken).toEqual(expect.objectContaining({ seq: 1, problem: 'anchor_mismatch' }));
    // Both ranges hold recomputed hashes: neither gives its anchored root any more.
    expect(report.output.anchors.map((anchor: { ok: boolean }) => anchor.ok)).toEqual([false, false]);

    // The editor also deletes the anchors' rows: read from the database alone, nothing is anchored and the trail
    // looks whole, which the report says it cannot vouch for; given the department, the chain still catches it.
    const [department] = ((await sql('SELECT DISTINCT department FROM audit_anchors')) as { department: string }[]).map(
      (row) => row.department,
    );
    const anchorRows = await sql('SELECT * FROM audit_anchors');
    await sql('DELETE FROM audit_anchors');
    const blind = await verifyCli();
    expect({ ok: blind.ok, anchoredThrough: blind.output.anchoredThrough }).toEqual({ ok: true, anchoredThrough: 0 });
    expect(blind.output.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^no anchor is recorded in the database/)]),
    );
    const given = (await runCli(['audit:verify', '--department', department!], {
      ...(app.config.database.kind === 'postgres'
        ? { DATABASE_URL: app.config.database.url }
        : { SQLITE_PATH: app.config.database.path }),
      CHAIN_RPC_URL: app.rpcUrl,
    })) as { ok: boolean; output: AuditVerifyReport };
    expect(given.ok).toBe(false);
    expect(given.output.firstBroken).toEqual(expect.objectContaining({ problem: 'anchor_mismatch' }));
    expect(anchorRows.length).toBeGreaterThan(0);
  });
});
