import { Injectable } from '@nestjs/common';
import { In, IsNull, LessThanOrEqual, Not } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { PresentationRequestEntity, type PresentationStatus } from './presentation-request.entity.js';

/** Rows deleted per statement when answered requests' retention ends. */
const PURGE_BATCH = 1_000;

@Injectable()
export class PresentationRequestRepository {
  constructor(private readonly db: Database) {}

  async insert(request: PresentationRequestEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).insert(request));
  }

  byId(id: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ id }));
  }

  byStateHash(stateHash: string): Promise<PresentationRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneBy({ stateHash }));
  }

  /**
   * Completes a request: pending → verified/rejected, exactly once. One conditional UPDATE (`WHERE id = ? AND
   * status = 'pending'`), so of any number of concurrent callers (a replayed or raced response) exactly one
   * gets true and the others false; the database decides, not a read before the write. The request object and
   * the response decryption key are dropped in the same statement; the sealed verdict is purged at `purgeAt`
   * at the latest.
   */
  async complete(
    id: string,
    status: Exclude<PresentationStatus, 'pending' | 'expired'>,
    sealedResult: string,
    completedAt: Date,
    purgeAt: Date,
    tx?: Tx,
  ): Promise<boolean> {
    const outcome = await this.db.use(tx, (m) =>
      m
        .getRepository(PresentationRequestEntity)
        .update(
          { id, status: 'pending' },
          { status, result: sealedResult, completedAt, purgeAt, requestObject: null, encryptionKeySealed: null },
        ),
    );
    return outcome.affected === 1;
  }

  /** First read of a verdict: its purge moves to `purgeAt` if that is sooner (never later). */
  async purgeSoon(id: string, purgeAt: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(PresentationRequestEntity)
        .update({ id, purgedAt: IsNull(), purgeAt: Not(LessThanOrEqual(purgeAt)) }, { purgeAt }),
    );
  }

  /**
   * Purges verdict claims whose time has come, deletes requests that expired unanswered before `expiredBefore`
   * and answered ones purged before `purgedBefore`. Returns how many rows each step touched.
   */
  async purge(
    now: Date,
    expiredBefore: Date,
    purgedBefore: Date,
  ): Promise<{ verdicts: number; expired: number; deleted: number }> {
    return this.db.use(undefined, async (m) => {
      const repository = m.getRepository(PresentationRequestEntity);
      const verdicts = await repository.update(
        { purgeAt: LessThanOrEqual(now), purgedAt: IsNull() },
        { result: null, purgedAt: now, requestObject: null, encryptionKeySealed: null },
      );
      const expired = await repository.delete({ status: 'pending', expiresAt: LessThanOrEqual(expiredBefore) });
      // In batches: the first purge after a long history must not be one statement over the whole table.
      let deleted = 0;
      for (;;) {
        const batch = await repository.find({
          select: { id: true },
          where: { purgedAt: LessThanOrEqual(purgedBefore) },
          take: PURGE_BATCH,
        });
        if (batch.length === 0) break;
        deleted += (await repository.delete({ id: In(batch.map((row) => row.id)) })).affected ?? 0;
        if (batch.length < PURGE_BATCH) break;
      }
      return { verdicts: verdicts.affected ?? 0, expired: expired.affected ?? 0, deleted };
    });
  }
}
