import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database } from '../../persistence/index.js';
import { RelyingPartyApiKeyEntity, RelyingPartyEntity } from './relying-party.entity.js';

@Injectable()
export class RelyingPartyRepository {
  constructor(private readonly db: Database) {}

  /** The party and its first API key, together. */
  async insert(party: RelyingPartyEntity): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.getRepository(RelyingPartyEntity).insert(party);
      await m.getRepository(RelyingPartyApiKeyEntity).insert({
        prefix: party.apiKeyPrefix,
        relyingPartyId: party.id,
        secretHash: party.apiKeyHash,
        createdAt: party.createdAt,
        revokedAt: null,
      });
    });
  }

  byId(id: string): Promise<RelyingPartyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).findOneBy({ id }));
  }

  /** A live (not revoked) API key by its prefix. */
  liveApiKey(prefix: string): Promise<RelyingPartyApiKeyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyApiKeyEntity).findOneBy({ prefix, revokedAt: IsNull() }));
  }

  async insertApiKey(key: RelyingPartyApiKeyEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(RelyingPartyApiKeyEntity).insert(key));
  }

  /**
   * Revokes one live key of the party (a conditional UPDATE: of concurrent revocations exactly one reports
   * true); false if there is no live key by that prefix.
   */
  async revokeApiKey(relyingPartyId: string, prefix: string, at: Date): Promise<boolean> {
    const outcome = await this.db.use(undefined, (m) =>
      m.getRepository(RelyingPartyApiKeyEntity).update({ prefix, relyingPartyId, revokedAt: IsNull() }, { revokedAt: at }),
    );
    return outcome.affected === 1;
  }

  apiKeys(relyingPartyId: string): Promise<RelyingPartyApiKeyEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(RelyingPartyApiKeyEntity).find({ where: { relyingPartyId }, order: { createdAt: 'ASC' } }),
    );
  }
}
