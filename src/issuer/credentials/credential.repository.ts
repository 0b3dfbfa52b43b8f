import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../persistence/index.js';
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
    await tx.getRepository(IssuedCredentialEntity).insert(record);
  }

  countIssued(agencyId: string): Promise<number> {
    return this.db.use(undefined, (m) => m.getRepository(IssuedCredentialEntity).countBy({ agencyId }));
  }
}
