import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import {
  ChainContractRepository,
  OutboxRepository,
  OutboxService,
  Replica,
  type ChainClient,
  type OutboxEntity,
  type OutboxStatus,
} from '../../src/chain/index.js';
import { KeyRepository, type KeyEntity } from '../../src/keys/index.js';
import { openContractDatabase, type ContractDatabase } from './contract-database.js';

/** The storage behind the chain client and the key service, on each database, without a chain. */
describe('outbox, deployed contracts and keys (repository contract)', () => {
  let database: ContractDatabase;
  beforeAll(async () => {
    database = await openContractDatabase('chain', 1);
  });
  afterAll(async () => {
    await database?.close();
  });

  describe('the outbox', () => {
    let seq = Date.now() * 1000;
    const outbox = () => new OutboxRepository(database.db);
    const entry = (chainId: number, changes: Partial<OutboxEntity> = {}): OutboxEntity => ({
      id: randomUUID(),
      seq: ++seq,
      chainId,
      signerKeyId: 'signer',
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
      createdAt: new Date(),
      updatedAt: new Date(),
      minedAt: null,
      blockTimestamp: null,
      ...changes,
    });

    it('stores writes only when the business transaction commits', async () => {
      const kept = entry(11);
      const dropped = entry(11);
      await database.db.transaction((tx) => outbox().insertAll(tx, [kept]));
      await expect(
        database.db.transaction(async (tx) => {
          await outbox().insertAll(tx, [dropped]);
          throw new Error('the business change failed');
        }),
      ).rejects.toThrow('the business change failed');
      expect(await outbox().byId(kept.id)).not.toBeNull();
      expect(await outbox().byId(dropped.id)).toBeNull();
    });

    it('keeps each write with its own id when several are queued at once', async () => {
      const writes = ['pending', 'signed', 'mined', 'pending'].map((status, i) =>
        entry(12, { status: status as OutboxStatus, data: `0x0${i}`, purpose: `write-${i}` }),
      );
      const queued = writes.map((write) => ({ ...write }));
      await database.db.transaction((tx) => outbox().insertAll(tx, queued));
      // TypeORM reloads default columns after a multi-row insert on SQLite and can assign them to the wrong
      // entities; the caller's objects (whose ids the outbox returns) must keep their own values.
      expect(queued).toEqual(writes);
      for (const write of writes)
        expect(await outbox().byId(write.id)).toMatchObject({ data: write.data, purpose: write.purpose });
    });

    it("lists a chain's unsettled writes oldest first, counts them by status, and keeps other chains apart", async () => {
      const chainId = 21;
      const statuses: OutboxStatus[] = ['signed', 'pending', 'mined', 'signing', 'reverted', 'pending'];
      const written = statuses.map((status) => entry(chainId, { status }));
      await database.db.transaction((tx) => outbox().insertAll(tx, [...written].reverse()));
      await database.db.transaction((tx) => outbox().insertAll(tx, [entry(22), entry(22, { status: 'mined' })]));

      const unsettled = await outbox().unsettled(chainId, 10);
      expect(unsettled.map((row) => row.id)).toEqual(
        written.filter((row) => !['mined', 'reverted'].includes(row.status)).map((row) => row.id),
      );
      expect((await outbox().unsettled(chainId, 2)).map((row) => row.id)).toEqual(unsettled.slice(0, 2).map((row) => row.id));
      expect(await outbox().countByStatus(chainId)).toEqual({ pending: 2, signing: 1, signed: 1, mined: 1, reverted: 1 });
      expect(await outbox().countByStatus(22)).toEqual({ pending: 1, signing: 0, signed: 0, mined: 1, reverted: 0 });
    });

    it('replays the journal in chain order: block, then nonce', async () => {
      const chainId = 31;
      const mined = [
        entry(chainId, { status: 'mined', blockNumber: 9, nonce: 4 }),
        entry(chainId, { status: 'reverted', blockNumber: 3, nonce: 2 }),
        entry(chainId, { status: 'mined', blockNumber: 9, nonce: 3 }),
        entry(chainId, { status: 'signed', nonce: 5 }),
      ];
      await database.db.transaction((tx) => outbox().insertAll(tx, mined));
      expect((await outbox().minedJournal(chainId)).map((row) => [row.blockNumber, row.nonce])).toEqual([
        [3, 2],
        [9, 3],
        [9, 4],
      ]);
    });

    it('knows the highest nonce it signed per signer and chain', async () => {
      const chainId = 41;
      await database.db.transaction((tx) =>
        outbox().insertAll(tx, [
          entry(chainId, { signerKeyId: 'governor', status: 'mined', nonce: 7 }),
          entry(chainId, { signerKeyId: 'governor', status: 'signed', nonce: 12 }),
          entry(chainId, { signerKeyId: 'governor', status: 'pending' }),
          entry(chainId, { signerKeyId: 'agency', status: 'mined', nonce: 3 }),
          entry(chainId + 1, { signerKeyId: 'governor', status: 'mined', nonce: 99 }),
        ]),
      );
      expect(await outbox().highestSignedNonce(chainId, 'governor')).toBe(12);
      expect(await outbox().highestSignedNonce(chainId, 'agency')).toBe(3);
      expect(await outbox().highestSignedNonce(chainId, 'nobody')).toBeNull();
    });

    it('finds writes by what they are about and by purpose', async () => {
      const ref = `agency:${randomUUID()}`;
      const first = entry(51, { ref, purpose: 'did:set-attribute' });
      const second = entry(51, { ref, purpose: 'did:add-delegate' });
      await database.db.transaction((tx) =>
        outbox().insertAll(
          tx,
          [second, first].sort((a, b) => b.seq - a.seq),
        ),
      );
      expect((await outbox().byRef(ref)).map((row) => row.id)).toEqual([first.id, second.id]);
      expect((await outbox().byPurpose(51, 'did:add-delegate')).map((row) => row.id)).toEqual([second.id]);
      expect(await outbox().byPurpose(52, 'did:add-delegate')).toEqual([]);
    });
  });

  describe('the outbox service', () => {
    // The service reads only the chain id from its client here: no node is needed to queue and settle entries.
    const service = () =>
      new OutboxService(new OutboxRepository(database.db), { chainId: 12 } as ChainClient, new Replica(), database.db);
    const write = { signerKeyId: 'signer', to: null, data: '0x00', purpose: 'contract-test' };

    it('tells its listeners about queued writes once they commit (and the entry can be read), never about a rollback', async () => {
      const outbox = service();
      let queued: string | undefined;
      const readsAtWakeUp: Promise<OutboxStatus | undefined>[] = [];
      outbox.onEnqueued(() => readsAtWakeUp.push(outbox.statusOf(queued!)));
      await database.db.transaction(async (tx) => {
        [queued] = await outbox.enqueue(tx, [write]);
        await outbox.enqueue(tx, [write]);
        expect(readsAtWakeUp).toHaveLength(0);
      });
      expect(readsAtWakeUp).toHaveLength(2);
      expect(await Promise.all(readsAtWakeUp)).toEqual(['pending', 'pending']);

      await expect(
        database.db.transaction(async (tx) => {
          await outbox.enqueue(tx, [write]);
          throw new Error('the business change failed');
        }),
      ).rejects.toThrow('the business change failed');
      expect(readsAtWakeUp).toHaveLength(2);
    });

    it('wakes a waitFinal caller when this process settles the entry, not at its next poll', async () => {
      const outbox = service();
      const [id] = await database.db.transaction((tx) => outbox.enqueue(tx, [write]));
      expect(await outbox.claim((await outbox.get(id!))!, 30_000)).toBe(true);
      const reads: OutboxStatus[] = [];
      const get = outbox.get.bind(outbox);
      jest.spyOn(outbox, 'get').mockImplementation(async (entryId) => {
        const entry = await get(entryId);
        reads.push(entry!.status);
        return entry;
      });
      // A poll period far beyond the test's timeout: only the wake-up can end the wait in time.
      const final = outbox.waitFinal(id!, 3_600_000, 3_600_000);
      while (reads.length === 0) await new Promise((resolve) => setImmediate(resolve));
      expect(reads).toEqual(['signing']);
      expect(await outbox.updateHeld(id!, { status: 'mined', blockNumber: 7, minedAt: new Date() })).toBe(true);
      expect(await final).toMatchObject({ id, status: 'mined', blockNumber: 7 });
      expect(reads).toEqual(['signing', 'mined']);
    });
  });

  describe('deployed contracts', () => {
    it('remembers a deployment per chain and name, and a redeploy replaces the address', async () => {
      const contracts = new ChainContractRepository(database.db);
      const address = (n: number) => `0x${String(n).padStart(40, '0')}`;
      expect(await contracts.recorded(61, 'StatusListAnchor')).toBeNull();
      await contracts.recordDeployment({ chainId: 61, name: 'StatusListAnchor', address: address(1), outboxId: null });
      await contracts.recordDeployment({ chainId: 62, name: 'StatusListAnchor', address: address(2), outboxId: null });
      expect(await contracts.recorded(61, 'StatusListAnchor')).toMatchObject({ address: address(1) });
      await contracts.recordDeployment({ chainId: 61, name: 'StatusListAnchor', address: address(3), outboxId: randomUUID() });
      expect(await contracts.recorded(61, 'StatusListAnchor')).toMatchObject({ address: address(3) });
      expect(await contracts.recorded(62, 'StatusListAnchor')).toMatchObject({ address: address(2) });
    });
  });

  describe('keys', () => {
    const keyRecord = (ownerRef: string | null, createdAt: Date): KeyEntity => ({
      id: randomUUID(),
      algorithm: 'ES256',
      purpose: 'credential-signing',
      ownerRef,
      publicKeyHex: `04${randomBytes(64).toString('hex')}`,
      address: null,
      backend: 'local',
      secretRef: `sealed:${randomBytes(8).toString('hex')}`,
      createdAt,
    });

    it("finds a key by id, and an owner's newest key for a purpose (the one in use after a rotation)", async () => {
      const keys = new KeyRepository(database.db);
      const owner = `agency:${randomUUID()}`;
      const older = keyRecord(owner, new Date(Date.now() - 60_000));
      const newer = keyRecord(owner, new Date());
      await keys.insert(newer);
      await keys.insert(older);
      await keys.insert({ ...keyRecord(owner, new Date(Date.now() + 60_000)), purpose: 'did-controller' });
      expect((await keys.byId(older.id))?.publicKeyHex).toBe(older.publicKeyHex);
      expect((await keys.newestOfOwner(owner, 'credential-signing'))?.id).toBe(newer.id);
      expect(await keys.newestOfOwner('agency:unknown', 'credential-signing')).toBeNull();
    });

    it('stores a key with the transaction of its owner, or not at all', async () => {
      const keys = new KeyRepository(database.db);
      const key = keyRecord('agency:rolled-back', new Date());
      await expect(
        database.db.transaction(async (tx) => {
          await keys.insert(key, tx);
          expect((await keys.byId(key.id, tx))?.id).toBe(key.id);
          throw new Error('the agency could not be created');
        }),
      ).rejects.toThrow('the agency could not be created');
      expect(await keys.byId(key.id)).toBeNull();
    });
  });
});
