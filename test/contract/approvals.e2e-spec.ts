import { randomUUID } from 'node:crypto';
import { ApprovalRepository } from '../../src/issuer/approvals/approval.repository.js';
import type { ApprovalApplicationEntity } from '../../src/issuer/approvals/approval.entity.js';
import { InboxRepository } from '../../src/issuer/approvals/inbox.repository.js';
import { OfferRepository } from '../../src/issuer/offers/offer.repository.js';
import type { CredentialOfferEntity } from '../../src/issuer/offers/offer.entity.js';
import type { Database } from '../../src/persistence/index.js';
import { CALLERS, insertAgency, openContractDatabase, race, winners, type ContractDatabase } from './contract-database.js';

/**
 * Joint approval (issue 16): the outcome the chain reports is applied once, whoever sees it (replicas' event
 * watchers, the reconciler): of many concurrent settlements exactly one wins, and only the winner moves the
 * offer; a timeline step recorded by many is one row.
 */
describe('joint-approval settlement (repository contract)', () => {
  let database: ContractDatabase;
  let agencyId: string;
  const on =
    <R>(make: (db: Database) => R) =>
    (caller: number): R =>
      make(replicas()[caller % replicas().length]!);
  // SQLite: one process, one connection with its write queue (replicas need PostgreSQL); several
  // connections' transactions in one process would block each other in better-sqlite3's busy wait.
  const replicas = () => (database.kind === 'sqlite' ? [database.db] : database.replicas);
  const approvals = on((db) => new ApprovalRepository(db));
  const offers = on((db) => new OfferRepository(db));
  const inboxes = on((db) => new InboxRepository(db));

  beforeAll(async () => {
    database = await openContractDatabase('approvals');
    agencyId = await insertAgency(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  async function application(): Promise<ApprovalApplicationEntity> {
    const now = new Date();
    const offer: CredentialOfferEntity = {
      id: randomUUID(),
      agencyId,
      typeId: 'business-licence',
      configurationIds: ['business-licence.sd_jwt'],
      issuedConfigurations: [],
      claimsSealed: 'sealed',
      offerSealed: null,
      flow: 'pre-authorized_code',
      approval: 'pending',
      preAuthCodeHash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
      txCodeHash: null,
      txCodeFailures: 0,
      status: 'redeemed',
      expiresAt: new Date(now.getTime() + 3_600_000),
      createdAt: now,
    };
    await offers(0).insert(offer);
    const row: ApprovalApplicationEntity = {
      id: randomUUID(),
      applicationId: '0x' + randomUUID().replace(/-/g, '').repeat(2),
      agencyId,
      typeId: 'business-licence',
      offerId: offer.id,
      policyId: '1',
      contentSealed: 'sealed',
      readTokenHash: '0'.repeat(64),
      applicantHash: null,
      state: 'pending',
      reasonCodes: [],
      outboxId: randomUUID(),
      createdAt: now,
      updatedAt: now,
    };
    await database.db.transaction((tx) => approvals(0).insert(tx, row));
    return row;
  }

  it('settles an application once: one winner moves the offer, the others change nothing', async () => {
    const row = await application();
    const moved: boolean[] = [];
    const results = await race(replicas(), CALLERS, (db, caller) =>
      db.transaction(async (tx) => {
        const outcome = caller % 2 ? 'approved' : 'rejected';
        if (!(await approvals(caller).settle(tx, row.id, outcome, outcome === 'rejected' ? ['fire-exits'] : []))) return false;
        moved.push(await offers(caller).settleApproval(tx, row.offerId, outcome));
        return true;
      }),
    );
    expect(winners(results)).toBe(1);
    expect(moved).toEqual([true]);
    const settled = (await approvals(1).byId(row.id))!;
    const offer = (await offers(2).byId(row.offerId))!;
    // The offer follows the winner's outcome.
    expect(offer.approval).toBe(settled.state === 'approved' ? 'approved' : 'rejected');
    expect(await database.db.transaction((tx) => approvals(0).settle(tx, row.id, 'approved', []))).toBe(false);
    expect((await approvals(0).pending(1000)).map((pending) => pending.id)).not.toContain(row.id);
  });

  it('pages through pending applications in a stable order, each page going on after the last one', async () => {
    const made = [await application(), await application(), await application(), await application(), await application()];
    const all = (await approvals(0).pending(1000)).map((pending) => pending.id);
    const ours = all.filter((id) => made.some((row) => row.id === id));
    expect(ours).toHaveLength(5);
    // Pages of two from the start cover every pending application once, in the same order as one read.
    const paged: string[] = [];
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await approvals(1).pending(2, after);
      paged.push(...page.map((pending) => pending.id));
      if (page.length < 2) break;
      after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
    }
    expect(paged).toEqual(all);
  });

  it('records a timeline step once however many record it', async () => {
    const row = await application();
    const step = {
      id: `${row.id}/approved/-`,
      applicationRef: row.id,
      step: 'approved' as const,
      department: null,
      decision: null,
      reasonCode: null,
      txHash: '0x' + 'ab'.repeat(32),
      blockNumber: 42,
      at: new Date(),
    };
    await race(replicas(), CALLERS, (_, caller) => approvals(caller).addStep(undefined, { ...step, at: new Date() }));
    await race(replicas(), 4, (_, caller) => approvals(caller).recordIssued(row.id, 'business-licence.sd_jwt'));
    const steps = await approvals(0).steps([row.id]);
    expect(steps.map((found) => found.step).sort()).toEqual(['approved', 'issued']);
  });

  it("consumes a wallet's waiting request once however many sign-ins race for it", async () => {
    const id = randomUUID();
    const now = new Date();
    await approvals(0).insertWalletRequest({
      id,
      agencyId,
      typeId: 'business-licence',
      configurationIds: ['business-licence.sd_jwt'],
      createdAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    expect(await approvals(1).walletRequest(id, now)).not.toBeNull();
    const results = await race(replicas(), CALLERS, (db, caller) =>
      db.transaction((tx) => approvals(caller).claimWalletRequest(tx, id)),
    );
    expect(winners(results)).toBe(1);
    expect(await approvals(2).walletRequest(id, now)).toBeNull();
  });

  it('moves an inbox cursor forward once per position and stores each found submission once', async () => {
    const contract = '0x' + randomUUID().replace(/-/g, '').padEnd(40, '0');
    const first = await race(replicas(), CALLERS, (_, caller) => inboxes(caller).advance(contract, undefined, 10));
    expect(winners(first)).toBeGreaterThanOrEqual(1);
    expect(await inboxes(0).cursor(contract)).toBe(10);
    // From 10 on, many scanners: exactly one moves it, and never backwards.
    const moved = await race(replicas(), CALLERS, (_, caller) => inboxes(caller).advance(contract, 10, 20 + (caller % 3)));
    expect(winners(moved)).toBe(1);
    expect(await inboxes(1).cursor(contract)).toBeGreaterThanOrEqual(20);
    const entry = {
      applicationId: '0x' + 'cd'.repeat(32),
      contract,
      policyId: '1',
      txHash: '0x' + 'ef'.repeat(32),
      blockNumber: 12,
      state: 'open' as const,
      foundAt: new Date(),
    };
    await race(replicas(), CALLERS, (_, caller) => inboxes(caller).add([{ ...entry }]));
    expect((await inboxes(2).open(contract, 10)).map((found) => found.applicationId)).toEqual([entry.applicationId]);
    await inboxes(0).close(entry.applicationId);
    expect(await inboxes(1).open(contract, 10)).toEqual([]);
  });
});
