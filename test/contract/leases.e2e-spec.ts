import { createHash, randomUUID } from 'node:crypto';
import { JobLeaseRepository, OutboxRepository, type OutboxEntity } from '../../src/chain/index.js';
import { STATUS_PUBLICATIONS } from '../../src/status/publication-heads.js';
import { StatusRepository } from '../../src/status/status.repository.js';
import {
  CALLERS,
  heardSoFar,
  insertTokenList,
  minutesFrom,
  openContractDatabase,
  race,
  winners,
  type ContractDatabase,
} from './contract-database.js';

const CHAIN_ID = 1337;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const holders = Array.from({ length: CALLERS }, (_, i) => `replica-${i}`);

/**
 * Leases decide which replica does a job: of many concurrent claimants (spread over several connections)
 * exactly one holds a lease; a lease that ran out may be taken by another; only the holder changes or
 * frees what it leases. Against the repositories alone, on each database.
 */
describe('leases (repository contract)', () => {
  let database: ContractDatabase;
  const at =
    <T>(make: (db: ContractDatabase['db']) => T) =>
    (caller: number) =>
      make(database.replicas[caller % database.replicas.length]!);

  beforeAll(async () => {
    database = await openContractDatabase('leases');
  });
  afterAll(async () => {
    await database?.close();
  });

  describe('an outbox entry', () => {
    const outbox = at((db) => new OutboxRepository(db));

    async function queueWrite(): Promise<string> {
      const now = new Date();
      const entry: OutboxEntity = {
        id: randomUUID(),
        seq: now.getTime() * 1000,
        chainId: CHAIN_ID,
        signerKeyId: randomUUID(),
        toAddress: null,
        data: '0x00',
        purpose: 'contract-test',
        ref: null,
        status: 'pending',
        nonce: null,
        rawTx: null,
        txHash: null,
        blockNumber: null,
        gasUsed: null,
        contractAddress: null,
        attempts: 0,
        lastError: null,
        leaseUntil: null,
        claimedBy: null,
        createdAt: now,
        updatedAt: now,
        minedAt: null,
        blockTimestamp: null,
      };
      await database.db.transaction((tx) => outbox(0).insertAll(tx, [entry]));
      return entry.id;
    }

    it('is claimed by exactly one of many replicas at once, and only the holder may store its signed bytes', async () => {
      const id = await queueWrite();
      const now = new Date();
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        outbox(caller).claimLease(id, holders[caller]!, now, 60_000),
      );
      expect(winners(results)).toBe(1);
      const holder = holders[results.indexOf(true)]!;
      const other = holders.find((name) => name !== holder)!;
      const claimed = await outbox(1).byId(id);
      expect(claimed).toMatchObject({ claimedBy: holder, status: 'signing', attempts: 1 });

      const signed = { status: 'signed' as const, nonce: 0, rawTx: '0x02', txHash: `0x${'ab'.repeat(32)}` };
      expect(await outbox(2).updateWhileHeld(id, other, signed)).toBe(false);
      expect(await outbox(0).updateWhileHeld(id, holder, signed)).toBe(true);
      expect(await outbox(1).claimLease(id, other, new Date(), 60_000)).toBe(false);

      await outbox(2).releaseLease(id, other); // not its lease: nothing happens
      expect(await outbox(0).claimLease(id, other, new Date(), 60_000)).toBe(false);
      await outbox(1).releaseLease(id, holder);
      expect(await outbox(2).claimLease(id, other, new Date(), 60_000)).toBe(true);
      expect((await outbox(0).byId(id))?.status).toBe('signed');
    });

    it('may be taken over, by exactly one replica, once the holder let its lease run out', async () => {
      const id = await queueWrite();
      const start = new Date();
      expect(await outbox(0).claimLease(id, 'crashed-replica', start, 1_000)).toBe(true);
      expect(await outbox(1).claimLease(id, holders[1]!, start, 60_000)).toBe(false);
      const later = minutesFrom(start, 1);
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        outbox(caller).claimLease(id, holders[caller]!, later, 60_000),
      );
      expect(winners(results)).toBe(1);
      expect(await outbox(0).updateWhileHeld(id, 'crashed-replica', { lastError: 'late' })).toBe(false);
    });

    it('is never claimed again once settled', async () => {
      const id = await queueWrite();
      expect(await outbox(0).claimLease(id, holders[0]!, new Date(), 60_000)).toBe(true);
      expect(await outbox(0).updateWhileHeld(id, holders[0]!, { status: 'mined', blockNumber: 7, minedAt: new Date() })).toBe(
        true,
      );
      expect(await outbox(0).updateWhileHeld(id, holders[0]!, { status: 'reverted' })).toBe(false);
      await outbox(0).releaseLease(id, holders[0]!);
      const results = await race(database.replicas, 4, (_, caller) =>
        outbox(caller).claimLease(id, holders[caller]!, minutesFrom(new Date(), 5), 60_000),
      );
      expect(winners(results)).toBe(0);
      // Every replica reads the settled status alone, as the verifier asks it.
      for (const replica of [0, 1, 2]) expect(await outbox(replica).statusOf(id)).toBe('mined');
    });

    it('answers its status alone, and nothing for an entry that does not exist', async () => {
      const id = await queueWrite();
      expect(await outbox(1).statusOf(id)).toBe('pending');
      expect(await outbox(1).statusOf(randomUUID())).toBeUndefined();
    });
  });

  describe('a named job lease', () => {
    const leases = at((db) => new JobLeaseRepository(db));

    it('is taken by exactly one replica, also when none has ever held it', async () => {
      const name = `job-${randomUUID().slice(0, 8)}`;
      const now = new Date();
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        leases(caller).claim(name, holders[caller]!, now, minutesFrom(now, 1)),
      );
      expect(winners(results)).toBe(1);
      const holder = holders[results.indexOf(true)]!;
      expect(await leases(1).claim(name, holder, now, minutesFrom(now, 1))).toBe(true); // renewal
      const others = await race(database.replicas, CALLERS, (_, caller) =>
        caller === results.indexOf(true)
          ? Promise.resolve(false)
          : leases(caller).claim(name, holders[caller]!, now, minutesFrom(now, 1)),
      );
      expect(winners(others)).toBe(0);
    });

    it('passes to exactly one other replica once it ran out or was released', async () => {
      const name = `job-${randomUUID().slice(0, 8)}`;
      const start = new Date();
      expect(await leases(0).claim(name, 'crashed-replica', start, minutesFrom(start, 1))).toBe(true);
      const later = minutesFrom(start, 2);
      expect(
        winners(
          await race(database.replicas, CALLERS, (_, caller) =>
            leases(caller).claim(name, holders[caller]!, later, minutesFrom(later, 1)),
          ),
        ),
      ).toBe(1);

      const released = `job-${randomUUID().slice(0, 8)}`;
      expect(await leases(0).claim(released, holders[0]!, start, minutesFrom(start, 10))).toBe(true);
      await leases(1).release(released, holders[1]!); // not its lease: nothing happens
      expect(await leases(2).claim(released, holders[2]!, start, minutesFrom(start, 10))).toBe(false);
      await leases(0).release(released, holders[0]!);
      expect(
        winners(
          await race(database.replicas, CALLERS, (_, caller) =>
            leases(caller).claim(released, holders[caller]!, start, minutesFrom(start, 10)),
          ),
        ),
      ).toBe(1);
    });
  });

  describe("a status list's publisher lease", () => {
    const statusLists = at((db) => new StatusRepository(db));

    const storeList = () => insertTokenList(database.db);
    const publishers = holders.map(() => randomUUID());

    it('is held by exactly one of many publishers at once, renewed only by it', async () => {
      const listId = await storeList();
      const now = Date.now();
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        statusLists(caller).claimLease(listId, publishers[caller]!, now, 60_000),
      );
      expect(winners(results)).toBe(1);
      const holder = publishers[results.indexOf(true)]!;
      expect(await statusLists(1).claimLease(listId, holder, now + 1_000, 60_000)).toBe(true);
      const other = publishers.find((publisher) => publisher !== holder)!;
      expect(await statusLists(2).claimLease(listId, other, now + 1_000, 60_000)).toBe(false);
      await statusLists(2).releaseLease(listId, other); // not its lease: nothing happens
      expect(await statusLists(0).claimLease(listId, other, now + 1_000, 60_000)).toBe(false);
      await statusLists(0).releaseLease(listId, holder);
      expect(await statusLists(1).claimLease(listId, other, now + 1_000, 60_000)).toBe(true);
    });

    it("sends a list's newest bytes only when they differ from the caller's (a changed row included)", async () => {
      const listId = await storeList();
      const versions = ['v1.payload.signature', 'v2.payload.signature'];
      await database.db.transaction(async (tx) => {
        for (const [i, jwt] of versions.entries()) {
          await statusLists(0).insertPublication(tx, {
            id: randomUUID(),
            listId,
            purpose: 'token',
            version: i + 1,
            seq: i + 1,
            jwt,
            digest: sha256(jwt),
            outboxId: randomUUID(),
            createdAt: new Date(),
          });
        }
      });
      const known = (jwt: string) => ({ jwt, utf8: Buffer.from(jwt), digest: sha256(jwt) });
      expect(await statusLists(1).latestPublicationHead(listId, 'token')).toMatchObject({ version: 2, jwt: versions[1] });
      expect(await statusLists(2).latestPublicationHead(listId, 'token', known(versions[1]!))).toMatchObject({
        version: 2,
        jwt: undefined,
      });
      expect(await statusLists(0).latestPublicationHead(listId, 'token', known(versions[0]!))).toMatchObject({
        version: 2,
        jwt: versions[1],
      });
      // A row changed behind the service's back is sent again, whatever its digest column says.
      await database.db.raw(undefined, (sql) =>
        sql.run(database.db.driver.sql('UPDATE status_publications SET jwt = ? WHERE list_id = ? AND version = 2'), [
          'v2.forged.signature',
          listId,
        ]),
      );
      // PostgreSQL: replica 1 may remember version 2 (its feed listening); the UPDATE's notification is heard first.
      await heardSoFar(database, 1, [STATUS_PUBLICATIONS]);
      expect(await statusLists(1).latestPublicationHead(listId, 'token', known(versions[1]!))).toMatchObject({
        version: 2,
        jwt: 'v2.forged.signature',
      });
    });

    it('passes to exactly one other publisher once it ran out', async () => {
      const listId = await storeList();
      const start = Date.now();
      expect(await statusLists(0).claimLease(listId, randomUUID(), start, 1_000)).toBe(true);
      const later = start + 60_000;
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        statusLists(caller).claimLease(listId, publishers[caller]!, later, 60_000),
      );
      expect(winners(results)).toBe(1);
    });
  });
});
