import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../persistence/index.js';
import { AuditAnchorEntity, AuditEntryEntity, AuditHeadEntity, CredentialUsageEntity } from './audit.entity.js';

const HEAD_ID = 1;

/**
 * Storage of the audit log. Concurrency contract of `append`: any number of concurrent appenders, on any
 * number of replicas, get consecutive sequence numbers and each entry links to the one before; the first
 * statement is a conditional UPDATE of the single head row, whose row lock (PostgreSQL) or write
 * transaction (SQLite) serialises appenders until the transaction commits.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /**
   * Takes the next sequence number under the head row's lock, builds the entry from the previous head,
   * inserts it and moves the head; all inside `tx`. Call it last in a transaction: the head stays locked
   * until commit.
   */
  async append(tx: Tx, build: (prev: { seq: number; entryHash: string }) => AuditEntryEntity): Promise<AuditEntryEntity> {
    const moved = await tx
      .createQueryBuilder()
      .update(AuditHeadEntity)
      .set({ seq: () => 'seq + 1' })
      .where('id = :id', { id: HEAD_ID })
      .execute();
    if ((moved.affected ?? 0) !== 1) throw new Error('The audit head row is missing (migration AuditTrail not run?)');
    const head = await tx.getRepository(AuditHeadEntity).findOneByOrFail({ id: HEAD_ID });
    const entry = build({ seq: head.seq - 1, entryHash: head.entryHash });
    if (entry.seq !== head.seq) throw new Error(`Audit entry ${entry.seq} built for head ${head.seq}`);
    await tx.getRepository(AuditEntryEntity).insert(entry);
    await tx.getRepository(AuditHeadEntity).update({ id: HEAD_ID }, { entryHash: entry.entryHash });
    return entry;
  }

  /**
   * `append` for several entries at once (the issuance group commit), through prepared statements: one
   * conditional UPDATE moves the head by `count` (taking its lock as `append` does), the entries are built
   * in order from the previous head, inserted by one multi-row INSERT, and the head takes the last hash.
   */
  async appendMany(
    tx: Tx,
    count: number,
    build: (prev: { seq: number; entryHash: string }, index: number) => AuditEntryEntity,
  ): Promise<AuditEntryEntity[]> {
    if (count === 0) return [];
    const { driver } = this.db;
    const sql = await driver.on(tx);
    const moved = await sql.run(driver.sql('UPDATE audit_head SET seq = seq + ? WHERE id = ?'), [count, HEAD_ID]);
    if (moved !== 1) throw new Error('The audit head row is missing (migration AuditTrail not run?)');
    const [head] = await sql.all<{ seq: number | string; entry_hash: string }>(
      driver.sql('SELECT seq, entry_hash FROM audit_head WHERE id = ?'),
      [HEAD_ID],
    );
    const last = Number(head!.seq);
    let prev = { seq: last - count, entryHash: head!.entry_hash };
    const entries: AuditEntryEntity[] = [];
    for (let index = 0; index < count; index++) {
      const entry = build(prev, index);
      if (entry.seq !== prev.seq + 1) throw new Error(`Audit entry ${entry.seq} built after ${prev.seq}`);
      entries.push(entry);
      prev = entry;
    }
    const values: unknown[] = [];
    for (const e of entries) values.push(e.seq, e.at, e.kind, e.actor, e.subject, e.data, e.prevHash, e.entryHash);
    await sql.run(
      driver.sql(
        'INSERT INTO audit_entries (seq, at, kind, actor, subject, data, prev_hash, entry_hash) VALUES ' +
          entries.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
      ),
      values,
    );
    await sql.run(driver.sql('UPDATE audit_head SET entry_hash = ? WHERE id = ?'), [prev.entryHash, HEAD_ID]);
    return entries;
  }

  entry(seq: number): Promise<AuditEntryEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AuditEntryEntity).findOneBy({ seq }));
  }

  /** Entries fromSeq..toSeq (inclusive) in sequence order. */
  range(fromSeq: number, toSeq: number): Promise<AuditEntryEntity[]> {
    return this.db.use(undefined, (m) =>
      m
        .getRepository(AuditEntryEntity)
        .createQueryBuilder('e')
        .where('e.seq >= :fromSeq AND e.seq <= :toSeq', { fromSeq, toSeq })
        .orderBy('e.seq', 'ASC')
        .getMany(),
    );
  }

  /** Every entry in sequence order (audit:verify). */
  all(): Promise<AuditEntryEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(AuditEntryEntity).find({ order: { seq: 'ASC' } }));
  }

  head(): Promise<AuditHeadEntity> {
    return this.db.use(undefined, (m) => m.getRepository(AuditHeadEntity).findOneByOrFail({ id: HEAD_ID }));
  }

  // ---- anchors ----

  anchors(): Promise<AuditAnchorEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(AuditAnchorEntity).find({ order: { fromSeq: 'ASC', createdAt: 'ASC' } }),
    );
  }

  /** The anchor (pending or mined) whose range holds seq. */
  anchorCovering(seq: number): Promise<AuditAnchorEntity | null> {
    return this.db.use(undefined, (m) =>
      m
        .getRepository(AuditAnchorEntity)
        .createQueryBuilder('a')
        .where('a.from_seq <= :seq AND a.to_seq >= :seq AND a.status != :reverted', { seq, reverted: 'reverted' })
        .getOne(),
    );
  }

  insertAnchor(tx: Tx, anchor: AuditAnchorEntity): Promise<unknown> {
    return tx.getRepository(AuditAnchorEntity).insert(anchor);
  }

  /** Settles a pending anchor once its outbox entry is final; false if it was already settled. */
  async settleAnchor(id: string, changes: Pick<AuditAnchorEntity, 'status' | 'txHash' | 'blockNumber'>): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(AuditAnchorEntity).update({ id, status: 'pending' }, changes),
    );
    return (result.affected ?? 0) > 0;
  }

  // ---- holders' usage log ----

  insertUsage(tx: Tx, rows: CredentialUsageEntity[]): Promise<unknown> {
    return rows.length ? tx.getRepository(CredentialUsageEntity).insert(rows) : Promise.resolve();
  }

  usageByFingerprint(fingerprint: string): Promise<CredentialUsageEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(CredentialUsageEntity).find({ where: { fingerprint }, order: { verifiedAt: 'ASC' } }),
    );
  }

  usageOfRequest(presentationRequestId: string): Promise<CredentialUsageEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(CredentialUsageEntity).findBy({ presentationRequestId }));
  }

  /** Replaces the purpose shown to the holder for the usage rows of one presentation request. */
  async describeUsage(presentationRequestId: string, purpose: string): Promise<number> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CredentialUsageEntity).update({ presentationRequestId }, { purpose: purpose.slice(0, 500) }),
    );
    return result.affected ?? 0;
  }
}
