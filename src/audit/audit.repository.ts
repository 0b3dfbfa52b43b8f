import { Injectable } from '@nestjs/common';
import { Database, type SqlExecutor, type SqlPart, type Tx } from '../persistence/index.js';
import { nextStoredEntry } from './hash-chain.js';
import { AuditAnchorEntity, AuditEntryEntity, AuditHeadEntity, CredentialUsageEntity } from './audit.entity.js';

const HEAD_ID = 1;
/** Most pending entries chained by one statement pair. */
const SEAL_BATCH = 1000;

/** An entry's content before it is chained: `data` as its canonical JSON. */
export interface AuditContent {
  at: string;
  kind: string;
  actor: string;
  subject: string;
  data: string;
}

/** The stored rows of `contents` chained after `prev` (seq 0: none yet). */
function chain(prev: { seq: number; entryHash: string }, contents: AuditContent[]): AuditEntryEntity[] {
  const entries: AuditEntryEntity[] = [];
  let last: { seq: number; entryHash: string } | undefined = prev.seq === 0 ? undefined : prev;
  for (const { data, ...event } of contents) {
    const entry = nextStoredEntry(last, event, data);
    entries.push(entry);
    last = entry;
  }
  return entries;
}

/**
 * Storage of the audit log. Concurrency contract of `appendMany`: any number of concurrent appenders, on
 * any number of replicas, get consecutive sequence numbers and each entry links to the one before; the
 * first statement is an UPDATE of the single head row, whose row lock (PostgreSQL) or write transaction
 * (SQLite) serialises appenders until the transaction commits. Pending issuance entries (ADR 20) are
 * chained by whoever holds that lock next.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /**
   * Appends entries in order, inside `tx`, through prepared statements: the head row is locked and read
   * by one statement (`UPDATE … RETURNING`: on PostgreSQL its row lock serialises appenders of every
   * replica until commit, READ COMMITTED re-reading the row after the wait; on SQLite the write
   * transaction does), then the issuance entries pending at that moment (PostgreSQL) are chained first
   * (ADR 20: whatever committed before this transaction is numbered before it), then `contents`; the
   * rows and the new head are written by one more statement. Call it last in a transaction.
   */
  async appendMany(tx: Tx, contents: AuditContent[]): Promise<AuditEntryEntity[]> {
    const sql = await this.db.driver.on(tx);
    let prev = await this.lockHead(sql);
    // Only PostgreSQL group commits leave entries pending (ADR 20); SQLite chains them in the group.
    while (this.db.kind === 'postgres') {
      const pending = await this.takePending(sql);
      if (pending.length === 0) break;
      prev = await this.write(tx, prev, pending);
      if (pending.length < SEAL_BATCH) break;
    }
    const entries = chain(prev, contents);
    if (entries.length > 0) await this.write(tx, prev, contents, entries);
    return entries;
  }

  /**
   * Chains the pending issuance entries (ADR 20; only PostgreSQL writes them), at most SEAL_BATCH, in their own
   * transaction under the head row's lock; resolves to how many were sealed (0: none was waiting).
   */
  async sealPending(): Promise<number> {
    // Cheap look first, without the lock: most calls of an idle service find nothing.
    const waiting = await this.db.raw(undefined, (sql) => sql.all(this.db.driver.sql('SELECT 1 FROM audit_pending LIMIT 1'), []));
    if (waiting.length === 0) return 0;
    return this.db.transaction(async (tx) => {
      const sql = await this.db.driver.on(tx);
      const head = await this.lockHead(sql);
      const pending = await this.takePending(sql);
      if (pending.length > 0) await this.write(tx, head, pending);
      return pending.length;
    });
  }

  /** The statement that records issuance entries as pending (a group commit's statement, PostgreSQL). */
  pendingStatement(contents: AuditContent[]): SqlPart {
    const params: unknown[] = [];
    for (const c of contents) params.push(c.at, c.kind, c.actor, c.subject, c.data);
    return {
      sql: `INSERT INTO audit_pending (at, kind, actor, subject, data) VALUES ${contents.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      params,
    };
  }

  /**
   * Locks the head row and reads it in one statement (`UPDATE … RETURNING`): on PostgreSQL its row lock
   * serialises appenders of every replica until commit; on SQLite the write transaction does.
   */
  private async lockHead(sql: SqlExecutor): Promise<{ seq: number; entryHash: string }> {
    const [head] = await sql.all<{ seq: number | string; entry_hash: string }>(
      this.db.driver.sql('UPDATE audit_head SET seq = seq WHERE id = ? RETURNING seq, entry_hash'),
      [HEAD_ID],
    );
    if (!head) throw new Error('The audit head row is missing (migration AuditTrail not run?)');
    return { seq: Number(head.seq), entryHash: head.entry_hash };
  }

  /** Removes and returns the oldest pending entries (the caller holds the head row's lock). */
  private async takePending(sql: SqlExecutor): Promise<AuditContent[]> {
    const rows = await sql.all<AuditContent & { id: number | string }>(
      this.db.driver.sql(
        'DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT ?) RETURNING id, at, kind, actor, subject, data',
      ),
      [SEAL_BATCH],
    );
    return rows
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map(({ at, kind, actor, subject, data }) => ({ at, kind, actor, subject, data }));
  }

  /** Inserts the entries chained after `prev` and moves the head to the last one; returns the new head. */
  private async write(
    tx: Tx,
    prev: { seq: number; entryHash: string },
    contents: AuditContent[],
    entries = chain(prev, contents),
  ): Promise<{ seq: number; entryHash: string }> {
    const last = entries[entries.length - 1]!;
    const moveHead: SqlPart = {
      sql: 'UPDATE audit_head SET seq = ?, entry_hash = ? WHERE id = ?',
      params: [last.seq, last.entryHash, HEAD_ID],
    };
    const columns = (e: AuditEntryEntity) => [e.seq, e.at, e.kind, e.actor, e.subject, e.data, e.prevHash, e.entryHash];
    const insert: SqlPart =
      this.db.kind === 'postgres'
        ? {
            // One text for any number of rows: one prepared statement per connection.
            sql:
              'INSERT INTO audit_entries (seq, at, kind, actor, subject, data, prev_hash, entry_hash) SELECT * FROM ' +
              'unnest(?::bigint[], ?::varchar[], ?::varchar[], ?::varchar[], ?::varchar[], ?::text[], ?::varchar[], ?::varchar[])',
            params: Array.from({ length: 8 }, (_, column) => entries.map((e) => columns(e)[column])),
          }
        : {
            sql:
              'INSERT INTO audit_entries (seq, at, kind, actor, subject, data, prev_hash, entry_hash) VALUES ' +
              entries.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
            params: entries.flatMap(columns),
          };
    await this.db.driver.batch(tx, [insert, moveHead]);
    return { seq: last.seq, entryHash: last.entryHash };
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
}
