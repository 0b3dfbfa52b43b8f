import { Injectable } from '@nestjs/common';
import { IsNull, LessThanOrEqual, Not } from 'typeorm';
import { Database } from '../../persistence/index.js';
import {
  PresentationRequestEntity,
  RelyingPartyApiKeyEntity,
  RelyingPartyEntity,
  type PresentationStatus,
} from './relying-party.entity.js';

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

  /** Revokes one live key of the party; false if there is none by that prefix. */
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

  async insertRequest(request: PresentationRequestEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).insert(request));
  }

  request(id: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ id }));
  }

  requestByState(stateHash: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ stateHash }));
  }

  /**
   * pending → verified/rejected, once: a replayed response finds nothing pending. The request object and
   * the response decryption key are dropped; the sealed verdict is purged at `purgeAt` at the latest.
   */
  async complete(id: string, status: PresentationStatus, sealedResult: string, purgeAt: Date): Promise<boolean> {
    const outcome = await this.db.use(undefined, (m) =>
      m
        .getRepository(PresentationRequestEntity)
        .update(
          { id, status: 'pending' },
          { status, result: sealedResult, completedAt: new Date(), purgeAt, requestObject: null, encryptionKeySealed: null },
        ),
    );
    return outcome.affected === 1;
  }

  /** First read of a verdict: its purge moves to `purgeAt` if that is sooner. */
  async purgeSoon(id: string, purgeAt: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(PresentationRequestEntity)
        .update({ id, purgedAt: IsNull(), purgeAt: Not(LessThanOrEqual(purgeAt)) }, { purgeAt }),
    );
  }

  /**
   * Purges verdict claims whose time has come, and deletes requests that expired unanswered before
   * `expiredBefore`. Returns how many rows each step touched.
   */
  async purge(now: Date, expiredBefore: Date): Promise<{ verdicts: number; expired: number }> {
    return this.db.use(undefined, async (m) => {
      const repository = m.getRepository(PresentationRequestEntity);
      const verdicts = await repository.update(
        { purgeAt: LessThanOrEqual(now), purgedAt: IsNull() },
        { result: null, purgedAt: now, requestObject: null, encryptionKeySealed: null },
      );
      const expired = await repository.delete({ status: 'pending', expiresAt: LessThanOrEqual(expiredBefore) });
      return { verdicts: verdicts.affected ?? 0, expired: expired.affected ?? 0 };
    });
  }
}
