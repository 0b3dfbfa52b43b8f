import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type AuthorisationStatus = 'granting' | 'active' | 'withdrawing' | 'withdrawn';

/** Which credential types an agency may issue; mirrors the on-chain trusted-issuer registry. */
@Entity('agency_authorisations')
export class AgencyAuthorisationEntity {
  @PrimaryColumn({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @PrimaryColumn({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: AuthorisationStatus;

  /** The outbox entry of the latest change. */
  @Column({ name: 'outbox_id', type: 'varchar', length: 36 })
  outboxId!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/**
 * What the agency keeps about a credential it issued: a digest and metadata, never the claims. The
 * credential itself lives with the holder.
 */
@Entity('issued_credentials')
export class IssuedCredentialEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('ix_issued_credentials_agency')
  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  @Column({ type: 'varchar', length: 16 })
  format!: string;

  @Column({ name: 'data_model', type: 'varchar', length: 8, nullable: true })
  dataModel!: string | null;

  /**
   * SHA-256 (hex) of the issued serialisation, to recognise it later without keeping it: the status entry
   * the credential carries names this row. Not indexed (ADR 24): no query reads by it.
   */
  @Column({ type: 'varchar', length: 64 })
  digest!: string;

  /** Always null since migration 1768000000000 (it was the holder key's RFC 7638 thumbprint, read by nothing). */
  @Column({ name: 'holder_thumbprint', type: 'varchar', length: 64, nullable: true })
  holderThumbprint!: string | null;

  @Column({ name: 'valid_from', type: Date })
  validFrom!: Date;

  @Column({ name: 'valid_until', type: Date })
  validUntil!: Date;

  @Column({ name: 'issued_at', type: Date })
  issuedAt!: Date;
}
