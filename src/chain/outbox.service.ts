import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { In } from 'typeorm';
import { Database, type Tx } from '../persistence/index.js';
import { ChainClient } from './chain.client.js';
import { OutboxEntity, type OutboxStatus } from './outbox.entity.js';
import { Replica } from './leases.js';

const OPEN: OutboxStatus[] = ['pending', 'signing', 'signed'];

export interface ChainWrite {
  signerKeyId: string;
  /** Null deploys a contract. */
  to: string | null;
  data: string;
  purpose: string;
  ref?: string;
}

export type OutboxEntry = Readonly<OutboxEntity>;

let lastSeq = 0;
/** Strictly increasing per process; orders writes even when several share a millisecond. */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

/** The transactional outbox: the only way to write to the chain. */
@Injectable()
export class OutboxService {
  constructor(
    private readonly db: Database,
    @Inject(ChainClient) private readonly chain: ChainClient,
    private readonly replica: Replica,
  ) {}

  /** Records writes inside the caller's transaction; the worker sends them once it commits. */
  async enqueue(tx: Tx, writes: ChainWrite[]): Promise<string[]> {
    const now = new Date();
    const entities = writes.map((write): OutboxEntity => ({
      id: randomUUID(),
      seq: nextSeq(),
      chainId: this.chain.chainId,
      signerKeyId: write.signerKeyId,
      toAddress: write.to,
      data: write.data,
      purpose: write.purpose,
      ref: write.ref ?? null,
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
    }));
    await tx.getRepository(OutboxEntity).insert(entities);
    return entities.map((entity) => entity.id);
  }

  get(id: string): Promise<OutboxEntry | null> {
    return this.db.use(undefined, (m) => m.getRepository(OutboxEntity).findOneBy({ id }));
  }

  byRef(ref: string): Promise<OutboxEntry[]> {
    return this.db.use(undefined, (m) => m.getRepository(OutboxEntity).find({ where: { ref }, order: { seq: 'ASC' } }));
  }

  byPurpose(purpose: string): Promise<OutboxEntry[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({ where: { purpose, chainId: this.chain.chainId }, order: { seq: 'ASC' } }),
    );
  }

  /** Entries still to be mined, oldest first. */
  open(): Promise<OutboxEntry[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({
        where: { chainId: this.chain.chainId, status: In(OPEN) },
        order: { seq: 'ASC' },
        take: 500,
      }),
    );
  }

  /** Mined entries in chain order: the journal replayed onto a fresh embedded chain. */
  minedJournal(): Promise<OutboxEntry[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({
        where: { chainId: this.chain.chainId, status: In(['mined', 'reverted'] satisfies OutboxStatus[]) },
        order: { blockNumber: 'ASC', nonce: 'ASC' },
      }),
    );
  }

  async counts(): Promise<Record<OutboxStatus, number>> {
    const rows: { status: OutboxStatus; count: string | number }[] = await this.db.use(undefined, (m) =>
      m
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .select('o.status', 'status')
        .addSelect('COUNT(*)', 'count')
        .where('o.chain_id = :chainId', { chainId: this.chain.chainId })
        .groupBy('o.status')
        .getRawMany(),
    );
    const counts: Record<OutboxStatus, number> = { pending: 0, signing: 0, signed: 0, mined: 0, reverted: 0 };
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /**
   * Takes the lease on an open entry: only the holder signs, broadcasts and settles it, so with several
   * replicas exactly one advances an entry at a time. PostgreSQL skips a row another replica is
   * claiming (FOR UPDATE SKIP LOCKED); SQLite, with one writer at a time, uses the conditional UPDATE
   * alone. A lease that ran out (crashed replica) may be taken again: nothing is broadcast before the
   * raw transaction is stored, and a stored one is only ever re-sent as the same bytes.
   */
  async claim(entry: OutboxEntry, leaseMs: number): Promise<boolean> {
    const now = new Date();
    const result = await this.db.use(undefined, (m) => {
      const query = m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({
          claimedBy: this.replica.id,
          leaseUntil: new Date(now.getTime() + leaseMs),
          status: () => "CASE WHEN status = 'pending' THEN 'signing' ELSE status END",
          attempts: () => 'attempts + 1',
          updatedAt: now,
        })
        .where('id = :id', { id: entry.id })
        .andWhere('status IN (:...open)', { open: OPEN })
        .andWhere('(lease_until IS NULL OR lease_until < :now OR claimed_by = :me)', { now, me: this.replica.id });
      if (this.db.kind === 'postgres') {
        query.andWhere('id IN (SELECT claimable.id FROM outbox claimable WHERE claimable.id = :id FOR UPDATE SKIP LOCKED)');
      }
      return query.execute();
    });
    return (result.affected ?? 0) > 0;
  }

  /** Changes an entry only while this replica holds its lease; false if the lease was lost. */
  async updateHeld(id: string, changes: Partial<OutboxEntity>): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({ ...changes, updatedAt: new Date() })
        .where('id = :id AND claimed_by = :me', { id, me: this.replica.id })
        .andWhere('status IN (:...open)', { open: OPEN })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Gives the lease back (after a pass, settled or not) so any replica may take the entry next. */
  async release(id: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({ claimedBy: null, leaseUntil: null })
        .where('id = :id AND claimed_by = :me', { id, me: this.replica.id })
        .execute(),
    );
  }

  /** The next nonce we would use for a signer, from what we have signed ourselves. */
  async highestNonce(signerKeyId: string): Promise<number | null> {
    const row: { max: number | string | null } | undefined = await this.db.use(undefined, (m) =>
      m
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .select('MAX(o.nonce)', 'max')
        .where('o.signer_key_id = :signerKeyId AND o.chain_id = :chainId', { signerKeyId, chainId: this.chain.chainId })
        .getRawOne(),
    );
    return row?.max === null || row?.max === undefined ? null : Number(row.max);
  }

  async update(id: string, changes: Partial<OutboxEntity>): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(OutboxEntity).update({ id }, { ...changes, updatedAt: new Date() }));
  }

  /** Waits until the entry is final (mined or reverted); the worker does the work. */
  async waitFinal(id: string, timeoutMs: number, pollMs = 100): Promise<OutboxEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = await this.get(id);
      if (!entry) throw new Error(`Unknown outbox entry ${id}`);
      if (entry.status === 'mined' || entry.status === 'reverted') return entry;
      if (Date.now() > deadline) throw new Error(`Outbox entry ${id} still ${entry.status}: ${entry.lastError ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
