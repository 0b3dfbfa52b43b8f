import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ContractFactory, JsonRpcProvider } from 'ethers';
import { AuditAnchorEntity } from '../src/audit/index.js';
import { OutboxEntity } from '../src/chain/index.js';
import { Database } from '../src/persistence/index.js';
import { outboxSettled, startTestApp, type TestApp } from './support/test-app.js';

/**
 * docs/notes/audit.md "Chain reset handling": before queuing a range, a round reads the AuditAnchor contract's
 * nextSequence for the department; when it is not where our anchored ranges end (+1), nothing is queued, the
 * refusal is logged, answered by POST /operator/audit/anchors and shown by /metrics. Two real disagreements:
 * a fresh contract swapped in (a reset chain), and the contract ahead of the database (an older backup restored).
 */
describe('audit anchoring refuses when the contract and the database disagree', () => {
  let app: TestApp;
  let replica: TestApp | undefined;
  let db: Database;
  const errors = jest.spyOn(Logger.prototype, 'error');

  const registerParty = async (target: TestApp, name: string) => {
    const registered = await target.operator('POST', '/operator/relying-parties', {
      name,
      purpose: `${name} checks`,
      allowedClaims: { 'driving-licence': ['expiry_date'] },
    });
    expect(registered.status).toBe(201);
  };
  const anchorOutboxEntries = () => db.use(undefined, (m) => m.getRepository(OutboxEntity).countBy({ purpose: 'audit:anchor' }));
  const anchorRows = () => db.use(undefined, (m) => m.getRepository(AuditAnchorEntity).find({ order: { fromSeq: 'ASC' } }));
  const refusedGauge = async (target: TestApp) => {
    const metrics = await target.call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    return Number(/^chancery_audit_anchor_refused (\d+)$/m.exec(metrics.body as string)?.[1]);
  };
  const refusalLogs = () =>
    errors.mock.calls.filter((call) => (call[0] as { event?: string } | undefined)?.event === 'audit_anchor_refused');

  beforeAll(async () => {
    app = await startTestApp({ AUDIT_ANCHOR_INTERVAL_MS: '0' });
    db = app.app.get(Database);
    await registerParty(app, 'First party');
    const first = await app.operator('POST', '/operator/audit/anchors');
    expect(first.body.anchor.fromSeq).toBe(1);
    expect(first.body.refused).toBeNull();
    await outboxSettled(app);
    // The next round settles the first anchor as mined; nothing new to anchor.
    expect((await app.operator('POST', '/operator/audit/anchors')).body).toEqual({ anchor: null, refused: null });
    expect((await anchorRows()).map((anchor) => anchor.status)).toEqual(['mined']);
  }, 300_000);
  afterAll(async () => {
    errors.mockRestore();
    await replica?.close();
    await app?.close();
  });

  it('queues nothing for a fresh AuditAnchor contract (a reset chain) and says why', async () => {
    const [anchored] = await anchorRows();
    // A new, empty AuditAnchor on the same chain, deployed by another account with plain ethers.
    const provider = new JsonRpcProvider(app.rpcUrl);
    let fresh: string;
    try {
      const artifact = JSON.parse(readFileSync(join(process.cwd(), 'contracts/artifacts/AuditAnchor.json'), 'utf8'));
      const deployed = await new ContractFactory(artifact.abi, artifact.bytecode, await provider.getSigner(0)).deploy();
      await deployed.waitForDeployment();
      fresh = await deployed.getAddress();
    } finally {
      provider.destroy();
    }
    replica = await startTestApp({ AUDIT_ANCHOR_INTERVAL_MS: '0', CHAIN_AUDIT_ANCHOR_ADDRESS: fresh }, { replicaOf: app });
    await registerParty(replica, 'Second party');
    const outboxBefore = await anchorOutboxEntries();
    errors.mockClear();

    const run = await replica.operator('POST', '/operator/audit/anchors');
    expect(run.status).toBe(200);
    expect(run.body.anchor).toBeNull();
    expect(run.body.refused).toEqual(
      expect.objectContaining({ fromSeq: anchored!.toSeq + 1, expected: 1, contract: fresh, department: anchored!.department }),
    );
    expect(await anchorOutboxEntries()).toBe(outboxBefore);
    expect(await anchorRows()).toHaveLength(1);
    expect(refusalLogs()).toHaveLength(1);
    expect(refusalLogs()[0]![0]).toEqual(expect.objectContaining({ fromSeq: anchored!.toSeq + 1, expected: 1 }));
    expect(await refusedGauge(replica)).toBe(1);
    // The replica on the recorded contract is not affected.
    expect(await refusedGauge(app)).toBe(0);
    await replica.close();
    replica = undefined;
  });

  it('queues nothing when the contract is ahead of the database (an older backup restored), until they agree', async () => {
    const [anchored] = await anchorRows();
    await registerParty(app, 'Third party');
    // The database as it was before its first anchor: the contract's series for the department goes on at toSeq + 1.
    await db.use(undefined, (m) => m.getRepository(AuditAnchorEntity).delete({ id: anchored!.id }));
    const outboxBefore = await anchorOutboxEntries();
    errors.mockClear();

    const run = await app.operator('POST', '/operator/audit/anchors');
    expect(run.body.anchor).toBeNull();
    expect(run.body.refused).toEqual(expect.objectContaining({ fromSeq: 1, expected: anchored!.toSeq + 1 }));
    expect(await anchorOutboxEntries()).toBe(outboxBefore);
    expect(await anchorRows()).toHaveLength(0);
    expect(refusalLogs()).toHaveLength(1);
    expect(await refusedGauge(app)).toBe(1);

    // The operator restores the anchor row: the next round anchors right after it, and the refusal clears.
    await db.use(undefined, (m) => m.getRepository(AuditAnchorEntity).insert(anchored!));
    const resumed = await app.operator('POST', '/operator/audit/anchors');
    expect(resumed.body.refused).toBeNull();
    expect(resumed.body.anchor.fromSeq).toBe(anchored!.toSeq + 1);
    expect(await anchorOutboxEntries()).toBe(outboxBefore + 1);
    expect(await refusedGauge(app)).toBe(0);
    await outboxSettled(app);
    expect((await app.operator('POST', '/operator/audit/anchors')).body.anchor).toBeNull();
    expect((await anchorRows()).map((anchor) => anchor.status)).toEqual(['mined', 'mined']);
  });

  it('clears a refusal once another replica anchored past it, though nothing is left for this one to anchor', async () => {
    const rows = await anchorRows();
    const last = rows.at(-1)!;
    await db.use(undefined, (m) => m.getRepository(AuditAnchorEntity).delete({ id: last.id }));
    expect((await app.operator('POST', '/operator/audit/anchors')).body.refused).toEqual(
      expect.objectContaining({ fromSeq: last.fromSeq, expected: last.toSeq + 1 }),
    );
    expect(await refusedGauge(app)).toBe(1);
    await db.use(undefined, (m) => m.getRepository(AuditAnchorEntity).insert(last));

    // Another replica anchors what came since (and settles it): this one finds nothing left to anchor.
    replica = await startTestApp({ AUDIT_ANCHOR_INTERVAL_MS: '0' }, { replicaOf: app });
    await registerParty(replica, 'Fourth party');
    expect((await replica.operator('POST', '/operator/audit/anchors')).body.anchor.fromSeq).toBe(last.toSeq + 1);
    await outboxSettled(replica);
    expect((await replica.operator('POST', '/operator/audit/anchors')).body).toEqual({ anchor: null, refused: null });
    // Without looking at what was anchored since, the refusal stayed on this replica until it queued a range itself.
    expect((await app.operator('POST', '/operator/audit/anchors')).body).toEqual({ anchor: null, refused: null });
    expect(await refusedGauge(app)).toBe(0);
    await replica.close();
    replica = undefined;
  });
});
