import { Injectable, type OnModuleInit } from '@nestjs/common';
import { In, LessThan } from 'typeorm';
import { sha256Hex, SingleFlight } from '../common/index.js';
import { Database, type SqlPart, type Tx } from '../persistence/index.js';
import { headKey, publicationHeadsOf } from './publication-heads.js';
import {
  StatusAuditEntity,
  StatusEntryEntity,
  StatusListEntity,
  StatusPublicationEntity,
  type StatusListKind,
  type StatusPurpose,
} from './status.entity.js';

const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** A list version's bytes as a reader last read them: the text, its UTF-8 bytes and their SHA-256 (hex). */
export interface KnownListBytes {
  jwt: string;
  utf8: Buffer;
  digest: string;
}

/** A list's newest version as `latestPublicationHead` answers it. */
export interface PublicationHead {
  version: number;
  /** Undefined when the stored bytes are exactly the caller's `known` bytes. */
  jwt: string | undefined;
  outboxId: string;
}

@Injectable()
export class StatusRepository implements OnModuleInit {
  /**
   * Head reads in flight, shared by callers that know the same bytes and arrive before anything changed in
   * the table (the remembered heads' generation is part of the key): after a publication, or when a head
   * expires, every verification in flight would otherwise send its own statement (ADR 31).
   */
  private readonly headReads = new SingleFlight<PublicationHead | undefined>();

  constructor(private readonly db: Database) {}

  /** The memory and its change feed are made outside any transaction (see CredentialRepository.onModuleInit). */
  onModuleInit(): void {
    publicationHeadsOf(this.db);
  }

  /** The newest list of an agency's kind for one issuer DID (its did:ethr, or its did:key for ldp_vc). */
  openList(tx: Tx, agencyId: string, kind: StatusListKind, issuerDid: string): Promise<StatusListEntity | null> {
    return tx.getRepository(StatusListEntity).findOne({ where: { agencyId, kind, issuerDid }, order: { createdAt: 'DESC' } });
  }

  /**
   * Serialises creating an agency's next list of a kind across replicas: on PostgreSQL a transaction-scoped
   * advisory lock (released at commit or rollback), so a second creator waits, then finds the first one's
   * list. SQLite has a single writer, which serialises this already.
   */
  async lockListCreation(tx: Tx, agencyId: string, kind: StatusListKind): Promise<void> {
    if (this.db.kind !== 'postgres') return;
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chancery:status-lists:${agencyId}:${kind}`]);
  }

  async insertList(tx: Tx, list: StatusListEntity): Promise<void> {
    await tx.getRepository(StatusListEntity).insert(list);
  }

  list(id: string, tx?: Tx): Promise<StatusListEntity | null> {
    return this.db.use(tx, (m) => m.getRepository(StatusListEntity).findOneBy({ id }));
  }

  /**
   * Claims the publisher lease of a list with one conditional UPDATE: free, expired, or already ours.
   * Only the holder signs and anchors new versions, so two publishers never race for a version.
   */
  async claimLease(listId: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(StatusListEntity)
        .set({ publisherLeaseOwner: owner, publisherLeaseUntil: now + leaseMs })
        .where('id = :listId', { listId })
        .andWhere('(publisher_lease_until IS NULL OR publisher_lease_until < :now OR publisher_lease_owner = :owner)', {
          now,
          owner,
        })
        .execute(),
    );
    return (result.affected ?? 0) === 1;
  }

  async releaseLease(listId: string, owner: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(StatusListEntity)
        .update({ id: listId, publisherLeaseOwner: owner }, { publisherLeaseOwner: null, publisherLeaseUntil: null }),
    );
  }

  allLists(): Promise<StatusListEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(StatusListEntity).find());
  }

  /**
   * The entries of these credentials. `forChange`: locked for the rest of the transaction on PostgreSQL (in one
   * order, so two changes of overlapping sets queue rather than deadlock), so that two replicas changing one
   * credential at once do not both read it unchanged and both record the change; SQLite's writer is one already.
   */
  async entriesOf(tx: Tx, credentialIds: string[], options: { forChange?: boolean } = {}): Promise<StatusEntryEntity[]> {
    const lock = options.forChange && tx.connection.options.type === 'postgres';
    const found: StatusEntryEntity[] = [];
    for (const part of chunks([...credentialIds].sort()))
      found.push(
        ...(await tx.getRepository(StatusEntryEntity).find({
          where: { credentialId: In(part) },
          ...(lock ? { order: { credentialId: 'ASC', listId: 'ASC', idx: 'ASC' }, lock: { mode: 'pessimistic_write' } } : {}),
        })),
      );
    return found;
  }

  async listsByIds(tx: Tx, ids: string[]): Promise<StatusListEntity[]> {
    return ids.length ? tx.getRepository(StatusListEntity).findBy({ id: In(ids) }) : [];
  }

  async setFlags(
    tx: Tx,
    entries: StatusEntryEntity[],
    flags: Partial<Pick<StatusEntryEntity, 'revoked' | 'suspended'>>,
  ): Promise<void> {
    const byList = new Map<string, number[]>();
    for (const entry of entries) {
      const indices = byList.get(entry.listId);
      if (indices) indices.push(entry.idx);
      else byList.set(entry.listId, [entry.idx]);
    }
    for (const [listId, indices] of byList) {
      for (const part of chunks(indices)) {
        await tx.getRepository(StatusEntryEntity).update({ listId, idx: In(part) }, { ...flags, updatedAt: new Date() });
      }
    }
  }

  async bumpSequence(tx: Tx, listIds: string[], purpose: 'revocation' | 'suspension'): Promise<void> {
    if (listIds.length === 0) return;
    await tx
      .getRepository(StatusListEntity)
      .increment({ id: In(listIds) }, purpose === 'revocation' ? 'revocationSeq' : 'suspensionSeq', 1);
  }

  async insertAudit(tx: Tx, rows: StatusAuditEntity[]): Promise<void> {
    for (const part of chunks(rows)) await tx.getRepository(StatusAuditEntity).insert(part);
  }

  audit(credentialId: string, tx?: Tx): Promise<StatusAuditEntity[]> {
    return this.db.use(tx, (m) =>
      m.getRepository(StatusAuditEntity).find({ where: { credentialId }, order: { createdAt: 'ASC' } }),
    );
  }

  /**
   * Indices whose flag is set, for building a list. The condition is spelled as the partial index's own
   * (`revoked OR suspended`, ix_status_entries_flagged), so both databases read the index, not the whole list.
   */
  async flagged(listId: string): Promise<{ idx: number; revoked: boolean; suspended: boolean }[]> {
    return this.db.use(undefined, (m) =>
      m
        .getRepository(StatusEntryEntity)
        .createQueryBuilder('entry')
        .select(['entry.idx', 'entry.revoked', 'entry.suspended'])
        .where('entry.list_id = :listId AND (entry.revoked OR entry.suspended)', { listId })
        .getMany(),
    );
  }

  latestPublication(listId: string, purpose: StatusPurpose, tx?: Tx): Promise<StatusPublicationEntity | null> {
    return this.db.use(tx, (m) =>
      m.getRepository(StatusPublicationEntity).findOne({ where: { listId, purpose }, order: { version: 'DESC' } }),
    );
  }

  /**
   * The newest version of a list: its number, anchor write and bytes (the verifier's hot path). Given the
   * bytes the caller read last (`known`), `jwt` is undefined when they are still the newest. Answered from
   * memory while the table's change feed vouches for it (`publicationHeadsOf`, ADR 22), otherwise by one
   * prepared statement comparing in the database: PostgreSQL SHA-256 digests (no 20 KB over the wire),
   * SQLite the stored text as bytes with `known.utf8` (a blob parameter is copied, a text one would be
   * UTF-8-encoded per call). Any change of the stored bytes, a tampered row included, sends the new bytes.
   */
  latestPublicationHead(listId: string, purpose: StatusPurpose, known?: KnownListBytes): Promise<PublicationHead | undefined> {
    const heads = publicationHeadsOf(this.db);
    const key = headKey(listId, purpose);
    const remembered = heads.get(key);
    if (remembered && known?.digest === remembered.digest) {
      return Promise.resolve({ version: remembered.version, jwt: undefined, outboxId: remembered.outboxId });
    }
    const mark = heads.mark();
    return this.headReads.run(`${mark} ${key} ${known?.digest ?? ''}`, () => this.readHead(listId, purpose, known, mark));
  }

  private async readHead(
    listId: string,
    purpose: StatusPurpose,
    known: KnownListBytes | undefined,
    mark: number,
  ): Promise<PublicationHead | undefined> {
    const heads = publicationHeadsOf(this.db);
    const same = this.db.kind === 'postgres' ? "sha256(convert_to(jwt, 'UTF8')) = decode(?, 'hex')" : 'CAST(jwt AS BLOB) = ?';
    const rows = await this.db.raw(undefined, (sql) =>
      sql.all<{ version: number; jwt: string | null; outbox_id: string }>(
        this.db.driver.sql(
          `SELECT version, CASE WHEN ${same} THEN NULL ELSE jwt END AS jwt, outbox_id FROM status_publications ` +
            'WHERE list_id = ? AND purpose = ? ORDER BY version DESC LIMIT 1',
        ),
        [(this.db.kind === 'postgres' ? known?.digest : known?.utf8) ?? null, listId, purpose],
      ),
    );
    const row = rows[0];
    if (!row) return undefined;
    const head = { version: Number(row.version), jwt: row.jwt ?? undefined, outboxId: row.outbox_id };
    if (heads.watching) {
      const digest = head.jwt === undefined ? known?.digest : sha256Hex(head.jwt);
      if (digest) heads.remember(headKey(listId, purpose), { version: head.version, outboxId: head.outboxId, digest }, mark);
    }
    return head;
  }

  /** This replica committed a new version of the list: its remembered head is stale from now on. */
  publicationCommitted(listId: string, purpose: StatusPurpose): void {
    publicationHeadsOf(this.db).forget(headKey(listId, purpose));
  }

  /**
   * A page of a list's versions, newest first, older than `before` when given: what the history shows, without
   * the signed bytes (a list may have thousands of versions of ~20 KB each).
   */
  publicationPage(
    listId: string,
    purpose: StatusPurpose,
    page: { before?: number; limit: number },
  ): Promise<Pick<StatusPublicationEntity, 'version' | 'digest' | 'createdAt' | 'outboxId'>[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(StatusPublicationEntity).find({
        select: { version: true, digest: true, createdAt: true, outboxId: true },
        where: { listId, purpose, ...(page.before === undefined ? {} : { version: LessThan(page.before) }) },
        order: { version: 'DESC' },
        take: page.limit,
      }),
    );
  }

  async insertPublication(tx: Tx, publication: StatusPublicationEntity): Promise<void> {
    await tx.getRepository(StatusPublicationEntity).insert(publication);
  }

  /**
   * The statement writing a group of entries (one multi-row insert; the primary key refuses an index
   * written twice). Lists count reserved indices (`used`, moved when a block is reserved), so no counter
   * row is touched here: concurrent group commits share no row.
   */
  entriesStatement(entries: { listId: string; idx: number; credentialId: string }[]): SqlPart {
    const { driver } = this.db;
    const now = driver.date(new Date());
    const no = driver.bool(false);
    const params: unknown[] = [];
    for (const entry of entries) params.push(entry.listId, entry.idx, entry.credentialId, no, no, now);
    return {
      sql: `INSERT INTO status_entries (list_id, idx, credential_id, revoked, suspended, updated_at) VALUES ${entries
        .map(() => '(?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      params,
    };
  }

  /** Writes entries inside `tx` (`entriesStatement`, for callers outside a group commit). */
  async insertEntries(tx: Tx, entries: { listId: string; idx: number; credentialId: string }[]): Promise<void> {
    if (entries.length > 0) await this.db.driver.batch(tx, [this.entriesStatement(entries)]);
  }
}
