import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { AgencyApiKeyEntity, AgencyEntity, type AgencyStatus } from './agency.entity.js';

export type Agency = Readonly<AgencyEntity>;

@Injectable()
export class AgencyRepository {
  constructor(private readonly db: Database) {}

  insert(tx: Tx, agency: AgencyEntity): Promise<unknown> {
    return tx.getRepository(AgencyEntity).insert(agency);
  }

  byId(id: string, tx?: Tx): Promise<Agency | null> {
    return this.db.use(tx, (m) => m.getRepository(AgencyEntity).findOneBy({ id }));
  }

  bySlug(slug: string, tx?: Tx): Promise<Agency | null> {
    return this.db.use(tx, (m) => m.getRepository(AgencyEntity).findOneBy({ slug }));
  }

  byDid(did: string): Promise<Agency | null> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).findOneBy({ did }));
  }

  list(): Promise<Agency[]> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).find({ order: { createdAt: 'ASC' } }));
  }

  withStatus(status: AgencyStatus): Promise<Agency[]> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).findBy({ status }));
  }

  async activate(id: string, signingKid: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(AgencyEntity).update({ id }, { status: 'active', signingKid }));
  }

  insertApiKey(tx: Tx | undefined, key: AgencyApiKeyEntity): Promise<unknown> {
    return this.db.use(tx, (m) => m.getRepository(AgencyApiKeyEntity).insert(key));
  }

  /** Revokes one active key of an agency by one conditional UPDATE; false when there was none. */
  async revokeApiKey(agencyId: string, prefix: string, at: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(AgencyApiKeyEntity).update({ agencyId, prefix, revokedAt: IsNull() }, { revokedAt: at }),
    );
    return (result.affected ?? 0) > 0;
  }

  activeApiKey(prefix: string): Promise<AgencyApiKeyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyApiKeyEntity).findOneBy({ prefix, revokedAt: IsNull() }));
  }
}
