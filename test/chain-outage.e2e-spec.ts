import { createActiveAgency, eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';

/**
 * The embedded chain node is killed while an agency is being created: the agency and its chain writes
 * are kept in the outbox, and complete once the node is back (restarted and rebuilt from the journal).
 */
describe('chain node outage', () => {
  let app: TestApp;

  beforeAll(async () => {
    // The app runs its own embedded node, which this test kills.
    app = await startTestApp({ CHAIN_EMBEDDED_RESTART_MS: '2500' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('keeps the writes in the outbox while the node is down and completes them when it returns', async () => {
    const before = await createActiveAgency(app, 'before-outage');
    const minedBefore = (await app.operator('GET', '/operator/outbox')).body.mined as number;
    const node = app.embeddedChain!;
    await node.kill();
    expect(node.running).toBe(false);

    const created = await app.operator('POST', '/operator/agencies', {
      slug: 'during-outage',
      name: 'Created while the chain is down',
    });
    expect(created.status).toBe(201);
    expect(created.body.agency.status).toBe('anchoring');

    // The worker tries, fails, and records why; nothing is mined while the node is down.
    const failing = await eventually(async () => {
      const view = (await app.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body;
      return view.chainWrites.length === 2 && (await app.operator('GET', '/operator/outbox')).body.mined === minedBefore
        ? view
        : undefined;
    }, 2_000);
    expect(failing.chainWrites.every((write: { status: string }) => write.status !== 'mined')).toBe(true);
    const health = await app.call('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body.error.chain.status).toBe('down');

    const after = await eventually(async () => {
      const view = (await app.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body;
      return view.status === 'active' ? view : undefined;
    }, 60_000);
    expect(node.running).toBe(true);
    expect(after.chainWrites.map((write: { status: string }) => write.status)).toEqual(['mined', 'mined']);

    // Both DIDs resolve on the restored chain, and no write was sent twice.
    for (const did of [before.agency.did, after.did]) {
      const resolved = await app.call('GET', `/1.0/identifiers/${did}`);
      expect(resolved.status).toBe(200);
      expect(resolved.body.didDocument.verificationMethod).toHaveLength(2);
    }
    // Two DID writes, then the three first status lists the active agency publishes and anchors.
    await outboxSettled(app);
    const counts = (await app.operator('GET', '/operator/outbox')).body;
    expect(counts).toEqual(expect.objectContaining({ mined: minedBefore + 5, pending: 0, signed: 0, signing: 0, reverted: 0 }));
  });
});
