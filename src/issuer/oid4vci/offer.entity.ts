import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** offered → redeemed (token issued) → issued; or expired / locked (too many wrong PINs). */
export type OfferStatus = 'offered' | 'redeemed' | 'issued' | 'locked';

/** A credential offer to one citizen. Claims wait here encrypted and are erased once issued. */
@Entity('credential_offers')
export class CredentialOfferEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  /** JSON array of credential configuration ids offered. */
  @Column({ name: 'configuration_ids', type: 'text' })
  configurationIds!: string;

  /** JSON array of configuration ids already issued under this offer. */
  @Column({ name: 'issued_configurations', type: 'text' })
  issuedConfigurations!: string;

  /** Claims sealed by src/keys, bound to the offer id; null once issued. */
  @Column({ name: 'claims_sealed', type: 'text', nullable: true })
  claimsSealed!: string | null;

  /** The offer object for credential_offer_uri (it holds the pre-authorized code), sealed; null if by value. */
  @Column({ name: 'offer_sealed', type: 'text', nullable: true })
  offerSealed!: string | null;

  @Index('ux_credential_offers_code', { unique: true })
  @Column({ name: 'pre_auth_code_hash', type: 'varchar', length: 64 })
  preAuthCodeHash!: string;

  @Column({ name: 'tx_code_hash', type: 'varchar', length: 64, nullable: true })
  txCodeHash!: string | null;

  @Column({ name: 'tx_code_failures', type: 'integer' })
  txCodeFailures!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: OfferStatus;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** c_nonces handed out by the nonce endpoint; each is consumed by exactly one proof. */
@Entity('oid4vci_nonces')
export class Oid4vciNonceEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  nonce!: string;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: Date, nullable: true })
  usedAt!: Date | null;
}

/** Issued credentials the wallet can report on through the notification endpoint. */
@Entity('oid4vci_notifications')
export class Oid4vciNotificationEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'offer_id', type: 'varchar', length: 36 })
  offerId!: string;

  @Column({ name: 'credential_ids', type: 'text' })
  credentialIds!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  event!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ name: 'reported_at', type: Date, nullable: true })
  reportedAt!: Date | null;
}
