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

  /** Which grant the offer carries: pre-authorized code, or authorization code (citizen logs in). */
  @Column({ type: 'varchar', length: 24 })
  flow!: 'pre-authorized_code' | 'authorization_code';

  /** Deferred issuance: null, or pending until an officer approves. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  approval!: 'pending' | 'approved' | null;

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

/** An authorization code flow in progress: pushed request → citizen authenticated → code exchanged. */
@Entity('authorization_sessions')
export class AuthorizationSessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'offer_id', type: 'varchar', length: 36 })
  offerId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 200 })
  clientId!: string;

  @Column({ name: 'redirect_uri', type: 'varchar', length: 500 })
  redirectUri!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  state!: string | null;

  @Column({ name: 'code_challenge', type: 'varchar', length: 128 })
  codeChallenge!: string;

  @Index('ux_authorization_sessions_request_uri', { unique: true })
  @Column({ name: 'request_uri_hash', type: 'varchar', length: 64 })
  requestUriHash!: string;

  @Column({ name: 'request_expires_at', type: Date })
  requestExpiresAt!: Date;

  @Index('ux_authorization_sessions_code', { unique: true })
  @Column({ name: 'code_hash', type: 'varchar', length: 64, nullable: true })
  codeHash!: string | null;

  @Column({ name: 'code_expires_at', type: Date, nullable: true })
  codeExpiresAt!: Date | null;

  @Column({ type: 'varchar', length: 16 })
  status!: 'pushed' | 'authorized' | 'exchanged';

  /** RFC 9449 §10: the thumbprint of the DPoP key of the pushed request; the code is bound to it. */
  @Column({ name: 'dpop_jkt', type: 'varchar', length: 64, nullable: true })
  dpopJkt!: string | null;

  /** JSON array of the configuration ids asked for by authorization_details; null when the request used scope. */
  @Column({ name: 'credential_identifiers', type: 'text', nullable: true })
  credentialIdentifiers!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** A credential request waiting for an officer's approval (deferred issuance). */
@Entity('deferred_requests')
export class DeferredRequestEntity {
  @PrimaryColumn({ name: 'transaction_hash', type: 'varchar', length: 64 })
  transactionHash!: string;

  @Column({ name: 'offer_id', type: 'varchar', length: 36 })
  offerId!: string;

  @Column({ name: 'configuration_id', type: 'varchar', length: 100 })
  configurationId!: string;

  /** JSON array of the holder public keys proven in the request. */
  @Column({ name: 'holder_keys', type: 'text' })
  holderKeys!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: 'pending' | 'issued';

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
