import { Injectable } from '@nestjs/common';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { Database, type Tx } from './database.js';
import { isUniqueViolation } from './unique-violation.js';

const epochMs = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export type IdempotencyState = 'in_flight' | 'done';

/**
 * One `Idempotency-Key` of one caller: the request it was first used with (a hash) and, once done, the
 * response to replay, sealed by src/keys since it may hold personal data (an issued credential).
 */
@Entity('idempotency_records')
@Index('ix_idempotency_records_expires', ['expiresAt'])
export class IdempotencyRecordEntity {
  /** Who used the key, e.g. `agency:<id>`: keys of different callers never meet. */
  @PrimaryColumn({ type: 'varchar', length: 80 })
  scope!: string;

  @PrimaryColumn({ name: 'idem_key', type: 'varchar', length: 255 })
  key!: string;

  /** SHA-256 (hex) of method, route and body. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: IdempotencyState;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  @Column({ name: 'sealed_response', type: 'text', nullable: true })
  sealedResponse!: string | null;

  /** While in flight: after this (epoch ms) the request is taken as lost and the key may be used again. */
  @Column({ name: 'locked_until', type: 'bigint', transformer: epochMs })
  lockedUntil!: number;

  /** Epoch ms after which the record is forgotten. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;
}

/** Storage of idempotency records; every state change is one conditional write. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: Database) {}

  /** Inserts a new in-flight record; false when the key is already recorded for this scope. */
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
