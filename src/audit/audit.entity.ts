import { Column, Entity, Index, PrimaryColumn, type ValueTransformer } from 'typeorm';

/** bigint columns come back as strings on PostgreSQL; sequence numbers stay below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};

/**
 * One entry of the append-only, hash-chained audit log (ADR 16). No personal data and never claims: ids,
 * digests, names of claims, reasons. `data` is stored as its canonical JSON, so the hash is recomputed
 * from exactly what is stored.
 */
@Entity('audit_entries')
export class AuditEntryEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber })
  seq!: number;

  /** ISO 8601 with milliseconds, as hashed. */
  @Column({ type: 'varchar', length: 32 })
  at!: string;

  @Column({ type: 'varchar', length: 64 })
  kind!: string;

  /** Who did it: `operator`, `agency:<id>`, `relying-party:<id>`, `oidc-client:<id>`, `wallet`, `system`. */
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  /** What it was done to, as a reference (`agency:<id>`, `credential:<id>`, `presentation:<id>` …). */
  @Column({ type: 'varchar', length: 300 })
  subject!: string;

  /** Canonical JSON of the event's details. */
  @Column({ type: 'text' })
  data!: string;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash!: string;

  @Column({ name: 'entry_hash', type: 'varchar', length: 64 })
  entryHash!: string;
}

/** The single row appends serialise on: the last entry's seq and hash, updated in the appending transaction. */
@Entity('audit_head')
export class AuditHeadEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintNumber })
  seq!: number;

  @Column({ name: 'entry_hash', type: 'varchar', length: 64 })
  entryHash!: string;
}

/**
 * An entry written in an issuance group commit on PostgreSQL, not yet in the hash chain (ADR 20): it
 * commits with the credential, so it is as durable, and the sealer (or the next append) moves it into
 * `audit_entries` in id order under the head row's lock. Same content as an entry, without seq and hashes.
 */
@Entity('audit_pending')
export class AuditPendingEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber })
  id!: number;

  @Column({ type: 'varchar', length: 32 })
  at!: string;

  @Column({ type: 'varchar', length: 64 })
  kind!: string;

  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Column({ type: 'varchar', length: 300 })
  subject!: string;

  @Column({ type: 'text' })
  data!: string;
}

export type AuditAnchorStatus = 'pending' | 'mined' | 'reverted';

/** A range of entries whose Merkle root was sent to the AuditAnchor contract through the outbox. */
@Entity('audit_anchors')
export class AuditAnchorEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('ix_audit_anchors_range')
  @Column({ name: 'from_seq', type: 'bigint', transformer: bigintNumber })
  fromSeq!: number;

  @Column({ name: 'to_seq', type: 'bigint', transformer: bigintNumber })
  toSeq!: number;

  /** 0x-prefixed keccak256 Merkle root (src/chain/merkle.ts). */
  @Column({ type: 'varchar', length: 66 })
  root!: string;

  /** The anchoring account (the department's controller), checksummed. */
  @Column({ type: 'varchar', length: 42 })
  department!: string;

  @Column({ name: 'outbox_id', type: 'varchar', length: 36 })
  outboxId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: AuditAnchorStatus;

  @Column({ name: 'tx_hash', type: 'varchar', length: 66, nullable: true })
  txHash!: string | null;

  @Column({ name: 'block_number', type: 'integer', nullable: true })
  blockNumber!: number | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/**
 * One verification of a credential, for its holder's usage log (用证记录). Keyed by the fingerprint of the
 * issuer-signed part, which only someone holding the credential can compute; no claim values.
 */
@Entity('credential_usage')
export class CredentialUsageEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('ix_credential_usage_fingerprint')
  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  @Index('ix_credential_usage_request')
  @Column({ name: 'presentation_request_id', type: 'varchar', length: 36 })
  presentationRequestId!: string;

  @Column({ name: 'relying_party_id', type: 'varchar', length: 36 })
  relyingPartyId!: string;

  @Column({ name: 'relying_party_name', type: 'varchar', length: 200 })
  relyingPartyName!: string;

  @Column({ type: 'varchar', length: 500 })
  purpose!: string;

  /** JSON array of the disclosed claim names. */
  @Column({ name: 'claim_names', type: 'text' })
  claimNames!: string;

  @Column({ type: 'boolean' })
  verified!: boolean;

  /** The audit entry that records the same verdict. */
  @Column({ name: 'audit_seq', type: 'bigint', nullable: true, transformer: bigintNumber })
  auditSeq!: number | null;

  @Column({ name: 'verified_at', type: Date })
  verifiedAt!: Date;
}
