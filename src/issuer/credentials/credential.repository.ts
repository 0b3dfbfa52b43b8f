import { Injectable } from '@nestjs/common';
import { Database, type SqlPart, type Tx } from '../../persistence/index.js';
import { AgencyAuthorisationEntity, IssuedCredentialEntity, type AuthorisationStatus } from './credential.entity.js';

@Injectable()
export class CredentialRepository {
  constructor(private readonly db: Database) {}

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
