import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** PostgreSQL hands a `bigint` back as a string; the values here are far below 2^53. */
const bigintNumber = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export const OUTBOX_STATUSES = ['pending', 'signing', 'signed', 'mined', 'reverted'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** Mined or reverted: the write is final, nothing more will happen to it. */
export const isSettled = (status: OutboxStatus | undefined): boolean => status === 'mined' || status === 'reverted';

/**
 * One intended chain write. Written in the same database transaction as the business change it belongs
 * to; the worker signs it once (the raw transaction is stored before it is broadcast) and rebroadcasts
 * those same bytes until mined, so a write is never sent twice.
 */
@Entity('outbox')
@Index('ix_outbox_status', ['chainId', 'status'])
@Index('ix_outbox_signer_nonce', ['signerKeyId', 'nonce'])
export class OutboxEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Orders entries of one signer; assigned at insert from a monotonic clock. */
  @Column({ type: 'bigint', transformer: bigintNumber })
  seq!: number;

  @Column({ name: 'chain_id', type: 'integer' })
  chainId!: number;

  @Column({ name: 'signer_key_id', type: 'varchar', length: 36 })
  signerKeyId!: string;

  /** Null deploys a contract. */
  @Column({ name: 'to_address', type: 'varchar', length: 42, nullable: true })
  toAddress!: string | null;

  @Column({ type: 'text' })
  data!: string;

  @Column({ type: 'varchar', length: 64 })
  purpose!: string;

  /** What the write is about, e.g. agency:<id>; never personal data. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  ref!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: OutboxStatus;

  @Column({ type: 'integer', nullable: true })
  nonce!: number | null;

  @Column({ name: 'raw_tx', type: 'text', nullable: true })
  rawTx!: string | null;

  @Column({ name: 'tx_hash', type: 'varchar', length: 66, nullable: true })
  txHash!: string | null;

  // 64-bit (migration OutboxChainNumbers64Bit): a chain's numbers are not bounded by 2^31.
  @Column({ name: 'block_number', type: 'bigint', nullable: true, transformer: bigintNumber })
  blockNumber!: number | null;

  @Column({ name: 'gas_used', type: 'bigint', nullable: true, transformer: bigintNumber })
  gasUsed!: number | null;

  /**
   * The mining block's timestamp (unix seconds): the embedded node's journal replay mines at this time again.
   * 64-bit: a 32-bit column stops taking block times in January 2038.
   */
  @Column({ name: 'block_timestamp', type: 'bigint', nullable: true, transformer: bigintNumber })
  blockTimestamp!: number | null;

  @Column({ name: 'contract_address', type: 'varchar', length: 42, nullable: true })
  contractAddress!: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'lease_until', type: Date, nullable: true })
  leaseUntil!: Date | null;

  /** The replica holding the lease: only it signs, broadcasts and settles the entry until lease_until. */
  @Column({ name: 'claimed_by', type: 'varchar', length: 64, nullable: true })
  claimedBy!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  @Column({ name: 'mined_at', type: Date, nullable: true })
  minedAt!: Date | null;
}
