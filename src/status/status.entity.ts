import { Column, Entity, PrimaryColumn } from 'typeorm';

const epochMs = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export type StatusListKind = 'bitstring' | 'token';
export type StatusPurpose = 'revocation' | 'suspension' | 'token';

/** A status list of one agency; the entries' flags are the truth, publications are signed snapshots. */
@Entity('status_lists')
export class StatusListEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: StatusListKind;

  @Column({ type: 'integer' })
  size!: number;

  @Column({ type: 'integer' })
  used!: number;

  @Column({ name: 'issuer_did', type: 'varchar', length: 120 })
  issuerDid!: string;

  @Column({ name: 'signing_key_id', type: 'varchar', length: 36 })
  signingKeyId!: string;

  @Column({ name: 'signing_kid', type: 'varchar', length: 200 })
  signingKid!: string;

  /** The did:ethr controller: it anchors the list versions, so the chain shows the agency published them. */
  @Column({ name: 'controller_key_id', type: 'varchar', length: 36 })
  controllerKeyId!: string;

  /** Bumped by every status change; a purpose is republished when its sequence passed the last publication. */
  @Column({ name: 'revocation_seq', type: 'integer' })
  revocationSeq!: number;

  @Column({ name: 'suspension_seq', type: 'integer' })
  suspensionSeq!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  /** The publisher (one per process) that may sign and anchor this list's next versions until the lease ends. */
  @Column({ name: 'publisher_lease_owner', type: 'varchar', length: 36, nullable: true })
  publisherLeaseOwner?: string | null;

  /** End of the publisher lease, epoch milliseconds. */
  @Column({ name: 'publisher_lease_until', type: 'bigint', nullable: true, transformer: epochMs })
  publisherLeaseUntil?: number | null;
}

@Entity('status_entries')
export class StatusEntryEntity {
  @PrimaryColumn({ name: 'list_id', type: 'varchar', length: 36 })
  listId!: string;

  @PrimaryColumn({ type: 'integer' })
  idx!: number;

  @Column({ name: 'credential_id', type: 'varchar', length: 36 })
  credentialId!: string;

  @Column({ type: 'boolean' })
  revoked!: boolean;

  @Column({ type: 'boolean' })
  suspended!: boolean;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/** A block of a list's indices reserved by one service process (see StatusService.reserve). */
@Entity('status_index_blocks')
export class StatusIndexBlockEntity {
  @PrimaryColumn({ name: 'list_id', type: 'varchar', length: 36 })
  listId!: string;

  @PrimaryColumn({ type: 'integer' })
  block!: number;

  @Column({ name: 'reserved_by', type: 'varchar', length: 36 })
  reservedBy!: string;

  @Column({ name: 'reserved_at', type: Date })
  reservedAt!: Date;
}

@Entity('status_publications')
export class StatusPublicationEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'list_id', type: 'varchar', length: 36 })
  listId!: string;

  @Column({ type: 'varchar', length: 16 })
  purpose!: StatusPurpose;

  @Column({ type: 'integer' })
  version!: number;

  /** The change sequence this version includes. */
  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'text' })
  jwt!: string;

  /** SHA-256 (hex) of the served bytes; anchored on chain. */
  @Column({ type: 'varchar', length: 64 })
  digest!: string;

  @Column({ name: 'outbox_id', type: 'varchar', length: 36 })
  outboxId!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

@Entity('status_audit')
export class StatusAuditEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ name: 'credential_id', type: 'varchar', length: 36 })
  credentialId!: string;

  @Column({ type: 'varchar', length: 16 })
  action!: string;

  @Column({ type: 'varchar', length: 500 })
  reason!: string;

  /** Which API key (prefix) made the change; never the key itself. */
  @Column({ type: 'varchar', length: 64 })
  actor!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
