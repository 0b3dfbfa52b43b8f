import { Column, Entity, Index, PrimaryColumn, type ColumnOptions } from 'typeorm';
import type { AuthorizationRequestPayload } from '../../oid4vp/index.js';

export type PresentationStatus = 'pending' | 'verified' | 'rejected' | 'expired';

/**
 * A value sealed by src/keys, as text. Rows written before the OID4VP hardening migration hold the value as
 * plain JSON; those read as `{ legacyPlain }`, so services never parse column text.
 */
export type SealedText = string | { legacyPlain: object };

function sealedTextColumn(options: Omit<ColumnOptions, 'type' | 'transformer'>): ColumnOptions {
  return {
    ...options,
    type: 'text',
    transformer: {
      to: (value: SealedText | null | undefined) =>
        value === null || value === undefined || typeof value === 'string' ? value : JSON.stringify(value.legacyPlain),
      from: (text: string | null) =>
        text === null || text === undefined ? null : text.startsWith('{') ? { legacyPlain: JSON.parse(text) as object } : text,
    },
  };
}

/** What a request keeps of itself: the authorization request payload, the link, the same-device return URI. */
export interface StoredRequest {
  authorizationRequest: AuthorizationRequestPayload;
  link: string;
  returnUri?: string;
}

/** One presentation request, from QR code to verdict. */
@Entity('presentation_requests')
export class PresentationRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'relying_party_id', type: 'varchar', length: 36 })
  relyingPartyId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 1000 })
  clientId!: string;

  /** The authorization request payload (nonce, state, dcql_query, response_uri, client_metadata) and link, sealed. */
  @Column(sealedTextColumn({ name: 'request_payload' }))
  requestPayload!: SealedText;

  /** The signed request object served at request_uri, sealed; null for redirect_uri and once answered. */
  @Column({ name: 'request_object', type: 'text', nullable: true })
  requestObject!: string | null;

  @Index('ux_presentation_requests_state', { unique: true })
  @Column({ name: 'state_hash', type: 'varchar', length: 64 })
  stateHash!: string;

  /** SHA-256 of the nonce: a key-binding JWT's nonce is checked against it before verification. */
  @Column({ name: 'nonce_hash', type: 'varchar', length: 64, nullable: true })
  nonceHash!: string | null;

  /** Handle of the ephemeral ECDH-ES P-256 key for direct_post.jwt (SealedSecrets); null once answered. */
  @Column({ name: 'encryption_key_sealed', type: 'text', nullable: true })
  encryptionKeySealed!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: PresentationStatus;

  /**
   * The verdict (verified flag, reasons, only the disclosed claims that were asked for), sealed; null once
   * purged (VERDICT_RETENTION_SECONDS after first read, VERDICT_MAX_UNREAD_SECONDS at most).
   */
  @Column(sealedTextColumn({ nullable: true }))
  result!: SealedText | null;

  /** When the verdict's claims are purged; moved earlier when the verdict is first read. */
  @Column({ name: 'purge_at', type: Date, nullable: true })
  purgeAt!: Date | null;

  @Column({ name: 'purged_at', type: Date, nullable: true })
  purgedAt!: Date | null;

  @Column({ name: 'view_token_hash', type: 'varchar', length: 64 })
  viewTokenHash!: string;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: Date, nullable: true })
  completedAt!: Date | null;

  /** The consortium data-sharing permissions (ids, comma-separated) the request and its verdict rest on (ADR 15). */
  @Column({ name: 'data_sharing_permissions', type: 'varchar', length: 400, nullable: true })
  dataSharingPermissions!: string | null;

  /** This request's own purpose (a wallet login: the portal), or null for the relying party's registered one. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  purpose!: string | null;
}
