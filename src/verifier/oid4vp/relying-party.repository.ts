import { Injectable } from '@nestjs/common';
import { Database } from '../../persistence/index.js';
import { PresentationRequestEntity, RelyingPartyEntity, type PresentationStatus } from './relying-party.entity.js';

@Injectable()
export class RelyingPartyRepository {
  constructor(private readonly db: Database) {}

  async insert(party: RelyingPartyEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).insert(party));
  }

  byId(id: string): Promise<RelyingPartyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).findOneBy({ id }));
  }

  byKeyPrefix(apiKeyPrefix: string): Promise<RelyingPartyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).findOneBy({ apiKeyPrefix }));
  }

  async insertRequest(request: PresentationRequestEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).insert(request));
  }

  request(id: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ id }));
  }

  requestByState(stateHash: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ stateHash }));
  }

  /** pending → verified/rejected, once: a replayed response finds nothing pending. */
  async complete(id: string, status: PresentationStatus, result: unknown): Promise<boolean> {
    const outcome = await this.db.use(undefined, (m) =>
      m
        .getRepository(PresentationRequestEntity)
        .update({ id, status: 'pending' }, { status, result: JSON.stringify(result), completedAt: new Date() }),
    );
    return outcome.affected === 1;
  }
}
