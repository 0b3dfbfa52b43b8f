import type { JsonWebKey } from 'node:crypto';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';

/** A holder's public key as stored: only the members checkKeyProof keeps. */
export type StoredHolderKey = Pick<JsonWebKey, 'kty' | 'crv' | 'x' | 'y'>;

/**
 * c_nonces handed out by the nonce endpoint, each consumed by exactly one proof; the same table remembers
 * DPoP jtis (stored already used, see DpopReplayRepository). Both are kept as their SHA-256 digest only.
 */
@Entity('oid4vci_nonces')
export class Oid4vciNonceEntity {
  @PrimaryColumn({ name: 'nonce_hash', type: 'varchar', length: 64 })
  nonceHash!: string;

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

  /** The issued credentials' record ids (JSON text). */
  @Column(jsonColumn<string[]>({ name: 'credential_ids' }))
  credentialIds!: string[];

  @Column({ type: 'varchar', length: 32, nullable: true })
  event!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ name: 'reported_at', type: Date, nullable: true })
  reportedAt!: Date | null;
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

  /** The holder public keys proven in the request (JSON text). */
  @Column(jsonColumn<StoredHolderKey[]>({ name: 'holder_keys' }))
  holderKeys!: StoredHolderKey[];

  @Column({ type: 'varchar', length: 16 })
  status!: 'pending' | 'issued';

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  /**
   * Re-delivery (ADR 18): the response the first successful poll got, sealed by src/keys (bound to
   * `deferred:<transaction hash>`), kept until the wallet's notification or `redeliver_until`; null otherwise.
   */
  @Column({ name: 'response_sealed', type: 'text', nullable: true })
  responseSealed!: string | null;

  /** The notification_id of the issued credentials; the wallet's report on it ends re-delivery. */
  @Index('ix_deferred_requests_notification')
  @Column({ name: 'notification_id', type: 'varchar', length: 36, nullable: true })
  notificationId!: string | null;

  @Column({ name: 'redeliver_until', type: Date, nullable: true })
  redeliverUntil!: Date | null;

  /** The DPoP key thumbprint of the token that got the first delivery (null: Bearer); only it gets it again. */
  @Column({ name: 'holder_jkt', type: 'varchar', length: 64, nullable: true })
  holderJkt!: string | null;
}
