import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';

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

  /** Credential configuration ids offered (a JSON text column). */
  @Column(jsonColumn<string[]>({ name: 'configuration_ids' }))
  configurationIds!: string[];

  /** Configuration ids already issued under this offer (a JSON text column). */
  @Column(jsonColumn<string[]>({ name: 'issued_configurations' }))
  issuedConfigurations!: string[];

  /** Claims sealed by src/keys, bound to the offer id; null once issued. */
  @Column({ name: 'claims_sealed', type: 'text', nullable: true })
  claimsSealed!: string | null;

  /** Which grant the offer carries: pre-authorized code, or authorization code (citizen logs in). */
  @Column({ type: 'varchar', length: 24 })
  flow!: 'pre-authorized_code' | 'authorization_code';

  /**
   * Deferred issuance: null, or pending until an officer approves; under a joint-approval policy (issue 16)
   * the chain's outcome settles it: approved, or rejected (the wallet is then denied).
   */
  @Column({ type: 'varchar', length: 16, nullable: true })
  approval!: 'pending' | 'approved' | 'rejected' | null;

  /** The offer object for credential_offer_uri (it holds the pre-authorized code), sealed; null if by value. */
  @Column({ name: 'offer_sealed', type: 'text', nullable: true })
  offerSealed!: string | null;

  /** SHA-256 of the grant secret: the pre-authorized code, or the issuer_state of the authorization code flow. */
  @Index('ux_credential_offers_code', { unique: true })
  @Column({ name: 'pre_auth_code_hash', type: 'varchar', length: 64 })
  preAuthCodeHash!: string;

  /** The PIN (tx_code) of a pre-authorized offer, or the login code of an authorization code offer. */
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
