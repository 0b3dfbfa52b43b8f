import { Injectable } from '@nestjs/common';
import { Database, type Tx } from './database.js';
import { IdempotencyRecordEntity } from './idempotency.entity.js';
import { isUniqueViolation } from './unique-violation.js';

/**
 * Storage of idempotency records. Every state change is one conditional write, so of any number of
 * concurrent requests with one key exactly one takes it (`insert` or `takeOver`), and only the attempt
 * that took it may `complete` or `abandon` it.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: Database) {}

  /** Inserts a new in-flight record; false when the key is already recorded for this scope (the primary key decides). */
  async insert(record: IdempotencyRecordEntity): Promise<boolean> {
    try {
      await this.db.use(undefined, (m) => m.getRepository(IdempotencyRecordEntity).insert(record));
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  find(scope: string, key: string): Promise<IdempotencyRecordEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(IdempotencyRecordEntity).findOneBy({ scope, key }));
  }

  /** Takes over an expired record, or an in-flight one whose request was lost (its lock ended). */
  async takeOver(record: IdempotencyRecordEntity, now: number): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(IdempotencyRecordEntity)
        .set({
          requestHash: record.requestHash,
          state: 'in_flight',
          statusCode: null,
          sealedResponse: null,
          lockedUntil: record.lockedUntil,
          expiresAt: record.expiresAt,
        })
        .where('scope = :scope AND idem_key = :key', { scope: record.scope, key: record.key })
        .andWhere("(expires_at < :now OR (state = 'in_flight' AND locked_until < :now))", { now })
        .execute(),
    );
    return (result.affected ?? 0) === 1;
  }

  /**
   * Stores the response of an in-flight request, inside the caller's transaction when given. `attempt`
   * (the lock the attempt set) must still be the record's: false when another attempt took the key over.
   */
  async complete(
    tx: Tx | undefined,
    scope: string,
    key: string,
    attempt: number,
    statusCode: number,
    sealedResponse: string,
  ): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(IdempotencyRecordEntity)
        .update({ scope, key, state: 'in_flight', lockedUntil: attempt }, { state: 'done', statusCode, sealedResponse }),
    );
    return (result.affected ?? 0) === 1;
  }

  /** Forgets an in-flight request that failed, so the client may retry with the same key; only its own attempt. */
  async abandon(scope: string, key: string, attempt: number): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.getRepository(IdempotencyRecordEntity).delete({ scope, key, state: 'in_flight', lockedUntil: attempt }),
    );
  }

  async purgeExpired(now: number): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.createQueryBuilder().delete().from(IdempotencyRecordEntity).where('expires_at < :now', { now }).execute(),
    );
  }
}
