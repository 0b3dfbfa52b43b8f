import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type AgencyStatus = 'anchoring' | 'active';

@Entity('agencies')
export class AgencyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('ux_agencies_slug', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  slug!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 120 })
  did!: string;

  @Column({ name: 'controller_key_id', type: 'varchar', length: 36 })
  controllerKeyId!: string;

  @Column({ name: 'signing_key_id', type: 'varchar', length: 36 })
  signingKeyId!: string;

  /** Verification method id of the signing key in the anchored DID document; known once mined. */
  @Column({ name: 'signing_kid', type: 'varchar', length: 200, nullable: true })
  signingKid!: string | null;

  @Column({ name: 'service_endpoint', type: 'varchar', length: 500 })
  serviceEndpoint!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: AgencyStatus;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

@Entity('agency_api_keys')
export class AgencyApiKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  /** Public lookup part of the key; the secret part is only stored as a SHA-256 digest. */
  @Index('ux_agency_api_keys_prefix', { unique: true })
  @Column({ type: 'varchar', length: 32 })
  prefix!: string;

  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ type: 'varchar', length: 100 })
  label!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;
}
