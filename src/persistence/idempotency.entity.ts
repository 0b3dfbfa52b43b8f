import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

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
