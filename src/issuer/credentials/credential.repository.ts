import { Injectable, type OnModuleInit } from '@nestjs/common';
import { SingleFlight } from '../../common/index.js';
import { Database, type RememberedRows, type SqlPart, type Tx, type WatchedTable } from '../../persistence/index.js';
import { AgencyAuthorisationEntity, IssuedCredentialEntity, type AuthorisationStatus } from './credential.entity.js';

/** The authorisations table as change feeds watch it (PostgreSQL: migration 1767600000000). */
export const AGENCY_AUTHORISATIONS: WatchedTable = {
  channel: 'chancery_agency_authorisations',
  table: 'agency_authorisations',
  keySql: "ROW.agency_id || ':' || ROW.type_id",
};

/**
 * Active authorisations by `agency:type`, remembered between issuances while the table's change feed vouches
 * for them: a withdrawal queued through any replica (or a row changed by hand) is dropped when its
 * notification arrives (PostgreSQL) or at once (SQLite), through this replica at its commit. The TTL bounds
 * what a lost notification could leave; only active rows are remembered, so a grant is never hidden.
 */
const activeAuthorisationsOf = (db: Database): RememberedRows<{ status: 'active' }> =>
  db.remembered<{ status: 'active' }>('agency-authorisations', [{ table: AGENCY_AUTHORISATIONS, keyed: true }], {
    max: 10_000,
    ttlMs: 30_000,
  });

@Injectable()
export class CredentialRepository implements OnModuleInit {
  /** Reads of one authorisation in flight, shared by the issuances that miss at once (per generation, see AgencyRepository). */
  private readonly statusReads = new SingleFlight<AuthorisationStatus | undefined>();

  constructor(private readonly db: Database) {}

  /**
   * The memory and its change feed are made now, outside any transaction: made lazily by a first call inside
   * one (an authorisation write forgets inside its transaction), a rollback would drop the SQLite feed's TEMP
   * triggers with it, unnoticed.
   */
  onModuleInit(): void {
    activeAuthorisationsOf(this.db);
  }

  /** An authorisation's status: from memory while it is active and the change feed vouches for it, else read. */
  authorisationStatus(agencyId: string, typeId: string): Promise<AuthorisationStatus | undefined> {
    const remembered = activeAuthorisationsOf(this.db);
    const key = `${agencyId}:${typeId}`;
    if (remembered.get(key)) return Promise.resolve('active');
    const mark = remembered.mark();
    return this.statusReads.run(`${mark} ${key}`, async () => {
      const status = (await this.authorisation(agencyId, typeId))?.status;
      if (status === 'active') remembered.remember(key, { status }, mark);
      return status;
    });
  }

  /** Forgets every remembered authorisation: something this replica cannot see in the table changed (the chain). */
  forgetAuthorisations(): void {
    activeAuthorisationsOf(this.db).forget();
  }

  /** How many active authorisations are remembered (tests). */
  get rememberedAuthorisations(): number {
    return activeAuthorisationsOf(this.db).size;
  }

  authorisation(agencyId: string, typeId: string, tx?: Tx): Promise<AgencyAuthorisationEntity | null> {
    return this.db.use(tx, (m) => m.getRepository(AgencyAuthorisationEntity).findOneBy({ agencyId, typeId }));
  }

  authorisations(agencyId: string): Promise<AgencyAuthorisationEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).find({ where: { agencyId }, order: { typeId: 'ASC' } }),
    );
  }

  allAuthorisations(): Promise<AgencyAuthorisationEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).find({ order: { agencyId: 'ASC', typeId: 'ASC' } }),
    );
  }

  byOutboxId(outboxId: string): Promise<AgencyAuthorisationEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyAuthorisationEntity).findOneBy({ outboxId }));
  }

  async saveAuthorisation(tx: Tx, authorisation: AgencyAuthorisationEntity): Promise<void> {
    // An upsert, not save(): save() reads then inserts, and two first-time grants racing would collide.
    await tx.getRepository(AgencyAuthorisationEntity).upsert(authorisation, ['agencyId', 'typeId']);
  }

  async setAuthorisationStatus(agencyId: string, typeId: string, outboxId: string, status: AuthorisationStatus): Promise<void> {
    // Only the change this outbox entry made is settled; a newer change keeps its own status.
    await this.db.use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).update({ agencyId, typeId, outboxId }, { status, updatedAt: new Date() }),
    );
  }

  async recordIssued(tx: Tx, record: IssuedCredentialEntity): Promise<void> {
    await this.recordIssuedMany(tx, [record]);
  }

  /** Records a group of issued credentials with one prepared multi-row insert (the issuance hot path). */
  async recordIssuedMany(tx: Tx, records: IssuedCredentialEntity[]): Promise<void> {
    if (records.length > 0) await this.db.driver.batch(tx, [this.issuedStatement(records)]);
  }

  /** The multi-row insert of a group of issued credentials (a group commit's statement). */
  issuedStatement(records: IssuedCredentialEntity[]): SqlPart {
    const { driver } = this.db;
    const params: unknown[] = [];
    for (const r of records) {
      params.push(r.id, r.agencyId, r.typeId, r.format, r.dataModel, r.digest, r.holderThumbprint);
      params.push(driver.date(r.validFrom), driver.date(r.validUntil), driver.date(r.issuedAt));
    }
    return {
      sql:
        'INSERT INTO issued_credentials (id, agency_id, type_id, format, data_model, digest, holder_thumbprint, valid_from, valid_until, issued_at) VALUES ' +
        records.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
      params,
    };
  }

  countIssued(agencyId: string): Promise<number> {
    return this.db.use(undefined, (m) => m.getRepository(IssuedCredentialEntity).countBy({ agencyId }));
  }
}
