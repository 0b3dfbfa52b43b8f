import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { Database, type Tx } from '../persistence/index.js';
import { OutboxEntity, type OutboxStatus } from './outbox.entity.js';

/** Statuses of an entry not yet settled on chain. */
export const OPEN_OUTBOX_STATUSES: readonly OutboxStatus[] = ['pending', 'signing', 'signed'];

/** The fields a lease holder may change while it advances an entry. */
export type OutboxChanges = Partial<
  Pick<
    OutboxEntity,
    | 'status'
    | 'nonce'
    | 'rawTx'
    | 'txHash'
    | 'blockNumber'
    | 'blockTimestamp'
    | 'gasUsed'
    | 'contractAddress'
    | 'lastError'
    | 'minedAt'
  >
>;

/**
 * Storage of the transactional outbox. Entries are scoped to a chain id (a database may have served an
 * earlier chain). The lease methods are the concurrency contract between replicas: see `claimLease`.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly db: Database) {}

  /**
   * Inserts new entries inside the caller's transaction, so they commit with the business change. TypeORM
   * is handed copies: after a multi-row insert on SQLite it reloads the default columns and writes them
   * back onto the entities by position, which can swap their ids; the caller's entries stay as given.
   */
  async insertAll(tx: Tx, entries: readonly OutboxEntity[]): Promise<void> {
    await tx.getRepository(OutboxEntity).insert(entries.map((entry) => ({ ...entry })));
  }

  byIds(ids: string[]): Promise<OutboxEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.use(undefined, (m) => m.getRepository(OutboxEntity).findBy({ id: In(ids) }));
  }

  byId(id: string): Promise<OutboxEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(OutboxEntity).findOneBy({ id }));
  }

  /** Only the status of one entry, by one prepared statement: asked on hot paths (a verification per list version until its anchor is mined). */
  async statusOf(id: string): Promise<OutboxStatus | undefined> {
    const rows = await this.db.raw(undefined, (sql) =>
      sql.all<{ status: OutboxStatus }>(this.db.driver.sql('SELECT status FROM outbox WHERE id = ?'), [id]),
    );
    return rows[0]?.status;
  }

  /** Every write about `ref` (e.g. `agency:<id>`), in the order they were queued. */
  byRef(ref: string): Promise<OutboxEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(OutboxEntity).find({ where: { ref }, order: { seq: 'ASC' } }));
  }

  byPurpose(chainId: number, purpose: string): Promise<OutboxEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({ where: { purpose, chainId }, order: { seq: 'ASC' } }),
    );
  }

  /** Entries still to be mined on the chain, oldest first, at most `limit`. */
  unsettled(chainId: number, limit: number): Promise<OutboxEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({
        where: { chainId, status: In([...OPEN_OUTBOX_STATUSES]) },
        order: { seq: 'ASC' },
        take: limit,
      }),
    );
  }

  /** Settled entries (mined or reverted) in chain order: the journal a fresh embedded node is rebuilt from. */
  minedJournal(chainId: number): Promise<OutboxEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(OutboxEntity).find({
        where: { chainId, status: In(['mined', 'reverted'] satisfies OutboxStatus[]) },
        order: { blockNumber: 'ASC', nonce: 'ASC' },
      }),
    );
  }

  /** When the oldest write still to be mined was queued, or undefined when none waits. */
  async oldestOpenCreatedAt(chainId: number): Promise<Date | undefined> {
    const row: { oldest: Date | string | number | null } | undefined = await this.db.use(undefined, (m) =>
      m
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .select('MIN(o.created_at)', 'oldest')
        .where('o.chain_id = :chainId', { chainId })
        .andWhere('o.status IN (:...open)', { open: ['pending', 'signing', 'signed'] })
        .getRawOne(),
    );
    if (row?.oldest === null || row?.oldest === undefined) return undefined;
    // SQLite keeps TypeORM's UTC text without a zone; PostgreSQL's driver gives a Date.
    const oldest =
      row.oldest instanceof Date
        ? row.oldest
        : new Date(typeof row.oldest === 'string' && !/[zZ]|[+-]\d\d:?\d\d$/.test(row.oldest) ? `${row.oldest}Z` : row.oldest);
    return Number.isNaN(oldest.getTime()) ? undefined : oldest;
  }

  async countByStatus(chainId: number): Promise<Record<OutboxStatus, number>> {
    const rows: { status: OutboxStatus; count: string | number }[] = await this.db.use(undefined, (m) =>
      m
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .select('o.status', 'status')
        .addSelect('COUNT(*)', 'count')
        .where('o.chain_id = :chainId', { chainId })
        .groupBy('o.status')
        .getRawMany(),
    );
    const counts: Record<OutboxStatus, number> = { pending: 0, signing: 0, signed: 0, mined: 0, reverted: 0 };
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /**
   * Takes the lease on an unsettled entry for `holder` until `now + leaseMs`: exactly one of any number
   * of concurrent callers wins, and only the winner signs, broadcasts and settles the entry. Free, run
   * out (a crashed replica) or already the holder's: taken, and the attempt counted. On PostgreSQL a row
   * another replica is claiming right now is skipped (FOR UPDATE SKIP LOCKED) rather than waited for;
   * SQLite has one writer at a time, so the conditional UPDATE alone decides.
   */
  async claimLease(id: string, holder: string, now: Date, leaseMs: number): Promise<boolean> {
    const result = await this.db.use(undefined, (m) => {
      const query = m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({
          claimedBy: holder,
          leaseUntil: new Date(now.getTime() + leaseMs),
          status: () => "CASE WHEN status = 'pending' THEN 'signing' ELSE status END",
          attempts: () => 'attempts + 1',
          updatedAt: now,
        })
        .where('id = :id', { id })
        .andWhere('status IN (:...open)', { open: OPEN_OUTBOX_STATUSES })
        .andWhere('(lease_until IS NULL OR lease_until < :now OR claimed_by = :holder)', { now, holder });
      if (this.db.kind === 'postgres') {
        query.andWhere('id IN (SELECT claimable.id FROM outbox claimable WHERE claimable.id = :id FOR UPDATE SKIP LOCKED)');
      }
      return query.execute();
    });
    return (result.affected ?? 0) > 0;
  }

  /** Changes an unsettled entry only while `holder` holds its lease; false when the lease was lost. */
  async updateWhileHeld(id: string, holder: string, changes: OutboxChanges): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({ ...changes, updatedAt: new Date() })
        .where('id = :id AND claimed_by = :holder', { id, holder })
        .andWhere('status IN (:...open)', { open: OPEN_OUTBOX_STATUSES })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Gives the lease back, if `holder` still has it, so any replica may take the entry next. */
  async releaseLease(id: string, holder: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(OutboxEntity)
        .set({ claimedBy: null, leaseUntil: null })
        .where('id = :id AND claimed_by = :holder', { id, holder })
        .execute(),
    );
  }

  /** The highest nonce we have signed for a signer on this chain, or null: the worker signs with the next. */
  async highestSignedNonce(chainId: number, signerKeyId: string): Promise<number | null> {
    const row: { max: number | string | null } | undefined = await this.db.use(undefined, (m) =>
      m
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .select('MAX(o.nonce)', 'max')
        .where('o.signer_key_id = :signerKeyId AND o.chain_id = :chainId', { signerKeyId, chainId })
        .getRawOne(),
    );
    return row?.max === null || row?.max === undefined ? null : Number(row.max);
  }
}
