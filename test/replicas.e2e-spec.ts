import { Contract, JsonRpcProvider } from 'ethers';
import { contractInterface, credentialTypeKey, OutboxEntity, OutboxService, OutboxWorker } from '../src/chain/index.js';
import { AgencyAuthorisationEntity, AgencyEntity } from '../src/issuer/index.js';
import { Database } from '../src/persistence/index.js';
import { eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';

const TYPES = ['driving-licence', 'business-licence'] as const;
const DRIVING_LICENCE = {
  family_name: 'Li',
  given_name: 'Hua',
  birth_date: '1990-01-31',
  licence_number: '110101199001311234',
  categories: ['C1'],
  issue_date: '2012-05-01',
  expiry_date: '2032-05-01',
};

/**
 * Two replicas on one database and one chain node, with the work split across both: every outbox
 * entry is advanced by one replica only, mined-listeners settle state from the write's content, and
 * the reconciler repairs what a lost race or an older version left behind, without a restart.
 */
describe('two replicas on one database and one chain', () => {
  let a: TestApp;
  let b: TestApp;
  let provider: JsonRpcProvider;
  let registry: Contract;
  const agencies: { id: string; did: string; apiKey: string }[] = [];
  /** What each agency should end authorised for, per type. */
  const expected = new Map<string, boolean>();
  /** Every mined-listener notification, on either replica: each settled entry must appear once. */
  const notified: string[] = [];

  const db = (app: TestApp) => app.app.get(Database);
  const authorisations = async (app: TestApp, id: string) =>
    Object.fromEntries(
      ((await app.operator('GET', `/operator/agencies/${id}/authorisations`)).body as { typeId: string; status: string }[]).map(
        (entry) => [entry.typeId, entry.status],
      ),
    );
  const onChain = async (did: string, typeId: string) =>
    Boolean(await registry.getFunction('isAuthorised')(did.split(':').pop()!, credentialTypeKey(typeId)));

  beforeAll(async () => {
    a = await startTestApp({ RECONCILE_INTERVAL_MS: '200' });
    b = await startTestApp({ RECONCILE_INTERVAL_MS: '200' }, { replicaOf: a });
    for (const replica of [a, b]) replica.app.get(OutboxWorker).onMined(async (entry) => void notified.push(entry.id));
    const chain = (await a.operator('GET', '/operator/chain')).body;
    provider = new JsonRpcProvider(a.rpcUrl, chain.chainId, { staticNetwork: true });
    registry = new Contract(chain.contracts.TrustedIssuerRegistry, contractInterface('TrustedIssuerRegistry'), provider);
  });
  afterAll(async () => {
    provider?.destroy();
    await b?.close();
    await a?.close();
  });

  it('creates agencies and changes authorisations on both: every agency ends active with the chain’s authorisations', async () => {
    const replicas = [a, b];
    for (let i = 0; i < 6; i++) {
      const created = await replicas[i % 2]!.operator('POST', '/operator/agencies', { slug: `agency-${i}`, name: `Agency ${i}` });
      expect(created.status).toBe(201);
      agencies.push({ id: created.body.agency.id, did: created.body.agency.did, apiKey: created.body.apiKey });
    }
    // Grants on one replica, then withdrawals and re-grants on the other, all queued while writes are in flight.
    for (const [i, agency] of agencies.entries()) {
      for (const typeId of TYPES) {
        expect((await replicas[i % 2]!.operator('PUT', `/operator/agencies/${agency.id}/authorisations/${typeId}`)).status).toBe(
          200,
        );
        expected.set(`${agency.id}:${typeId}`, true);
      }
      const other = replicas[(i + 1) % 2]!;
      expect((await other.operator('DELETE', `/operator/agencies/${agency.id}/authorisations/business-licence`)).status).toBe(
        200,
      );
      expected.set(`${agency.id}:business-licence`, false);
      if (i % 3 === 0) {
        expect((await other.operator('PUT', `/operator/agencies/${agency.id}/authorisations/business-licence`)).status).toBe(200);
        expected.set(`${agency.id}:business-licence`, true);
      }
    }

    await eventually(async () => {
      const views = await Promise.all(
        agencies.map(async (agency) => (await b.operator('GET', `/operator/agencies/${agency.id}`)).body),
      );
      return views.every((view) => view.status === 'active') ? true : undefined;
    }, 90_000);
    await outboxSettled(a);
    for (const agency of agencies) {
      const states = await eventually(async () => {
        const found = await authorisations(a, agency.id);
        return Object.values(found).every((status) => status === 'active' || status === 'withdrawn') ? found : undefined;
      });
      for (const typeId of TYPES) {
        const authorised = expected.get(`${agency.id}:${typeId}`)!;
        expect(await onChain(agency.did, typeId)).toBe(authorised);
        expect(states[typeId]).toBe(authorised ? 'active' : 'withdrawn');
      }
    }
  });

  it('issues on both replicas exactly where the chain authorises', async () => {
    for (const [i, agency] of agencies.entries()) {
      const replica = i % 2 === 0 ? b : a;
      const issued = await replica.call('POST', '/credentials/issue', {
        token: agency.apiKey,
        body: {
          credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE },
          options: { format: 'dc+sd-jwt' },
        },
      });
      expect(issued.status).toBe(201);
    }
  });

  it('sent no outbox entry twice: every transaction on chain is exactly one settled entry', async () => {
    await outboxSettled(a);
    const entries = await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).find());
    const settledHashes = entries.filter((entry) => entry.blockNumber !== null).map((entry) => entry.txHash!.toLowerCase());
    const onChainHashes: string[] = [];
    const latest = await provider.getBlockNumber();
    for (let n = 0; n <= latest; n++)
      onChainHashes.push(...(await provider.getBlock(n))!.transactions.map((h) => h.toLowerCase()));
    expect(new Set(settledHashes).size).toBe(settledHashes.length);
    expect(onChainHashes.sort()).toEqual([...settledHashes].sort());
    expect(entries.every((entry) => entry.status === 'mined')).toBe(true);
    expect(entries.filter((entry) => entry.claimedBy !== null)).toEqual([]);
    // Exactly one replica advanced and settled each entry written after start-up (agencies, authorisations, anchors).
    const written = entries.filter((entry) => !entry.purpose.startsWith('deploy:')).map((entry) => entry.id);
    expect([...notified].sort()).toEqual(written.sort());
  });

  it('settles an authorisation from the write, so a mined-listener that runs twice on both replicas changes nothing', async () => {
    const agency = agencies[0]!;
    const row = await db(a).use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).findOneByOrFail({ agencyId: agency.id, typeId: 'driving-licence' }),
    );
    const entry = await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).findOneByOrFail({ id: row.outboxId }));
    for (const replica of [a, b, a, b]) await replica.app.get(OutboxWorker).notifyMined(entry);
    expect((await authorisations(b, agency.id))['driving-licence']).toBe('active');
  });

  it('repairs, without a restart, an authorisation flipped against the chain and an activation that was lost', async () => {
    const flipped = agencies[1]!;
    const stuck = agencies[2]!;
    // What the old toggle and a lost race left behind on the replicas: state that disagrees with the chain.
    await db(a).use(undefined, (m) =>
      m
        .getRepository(AgencyAuthorisationEntity)
        .update({ agencyId: flipped.id, typeId: 'driving-licence' }, { status: 'withdrawn' }),
    );
    await db(a).use(undefined, (m) => m.getRepository(AgencyEntity).update({ id: stuck.id }, { status: 'anchoring' }));
    expect(
      (
        await b.call('POST', '/credentials/issue', {
          token: flipped.apiKey,
          body: {
            credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE },
            options: { format: 'dc+sd-jwt' },
          },
        })
      ).status,
    ).toBe(403);

    await eventually(async () => ((await authorisations(a, flipped.id))['driving-licence'] === 'active' ? true : undefined));
    await eventually(async () =>
      (await b.operator('GET', `/operator/agencies/${stuck.id}`)).body.status === 'active' ? true : undefined,
    );
    expect(await onChain(flipped.did, 'driving-licence')).toBe(true);
  });

  it('leases an entry to one replica at a time, whatever its state, until released or expired', async () => {
    for (const replica of [a, b]) await replica.app.get(OutboxWorker).stop();
    const [outboxA, outboxB] = [a.app.get(OutboxService), b.app.get(OutboxService)];
    const [id] = await db(a).transaction((tx) =>
      outboxA.enqueue(tx, [{ signerKeyId: 'no-such-key', to: null, data: '0x00', purpose: 'test:lease', ref: 'test:lease' }]),
    );
    try {
      const entry = (await outboxA.get(id!))!;
      expect(await outboxA.claim(entry, 60_000)).toBe(true);
      expect(await outboxB.claim(entry, 60_000)).toBe(false);
      // Only the holder may store a signed transaction or settle the entry.
      expect(await outboxB.updateHeld(id!, { status: 'signed', rawTx: '0x01', txHash: '0x02' })).toBe(false);
      expect(await outboxA.updateHeld(id!, { status: 'signed', rawTx: '0x01', txHash: '0x02' })).toBe(true);
      const signed = (await outboxB.get(id!))!;
      expect(await outboxB.claim(signed, 60_000)).toBe(false);
      await outboxA.release(id!);
      expect(await outboxB.claim(signed, 60_000)).toBe(true);
      expect(await outboxA.claim(signed, 60_000)).toBe(false);
      // A lease that ran out (its holder died) is taken over.
      await outboxB.release(id!);
      expect(await outboxB.claim(signed, -1_000)).toBe(true);
      expect(await outboxA.claim(signed, 60_000)).toBe(true);
    } finally {
      await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).delete({ id: id! }));
      for (const replica of [a, b]) replica.app.get(OutboxWorker).start();
    }
  });
});
