import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type ClientIdPrefix = 'redirect_uri' | 'decentralized_identifier' | 'x509_san_dns';

/** A bank, police unit or department allowed to ask citizens for specific claims. */
@Entity('relying_parties')
export class RelyingPartyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 500 })
  purpose!: string;

  /** JSON: catalogue type id → claim names this party may request (data minimisation). */
  @Column({ name: 'allowed_claims', type: 'text' })
  allowedClaims!: string;

  @Column({ name: 'client_id_prefix', type: 'varchar', length: 32 })
  clientIdPrefix!: ClientIdPrefix;

  /** ES256 key that signs its request objects (decentralized_identifier: did:jwk of it; x509: its certificate). */
  @Column({ name: 'signing_key_id', type: 'varchar', length: 36 })
  signingKeyId!: string;

  /** Self-issued X.509 certificate (base64 DER) for x509_san_dns, naming our public host. */
  @Column({ type: 'text', nullable: true })
  certificate!: string | null;

  @Column({ name: 'webhook_url', type: 'varchar', length: 500, nullable: true })
  webhookUrl!: string | null;

  /** HMAC key for webhook signatures, sealed by src/keys; shown to the party once at registration. */
  @Column({ name: 'webhook_secret_sealed', type: 'text', nullable: true })
  webhookSecretSealed!: string | null;

  @Index('ux_relying_parties_key_prefix', { unique: true })
  @Column({ name: 'api_key_prefix', type: 'varchar', length: 16 })
  apiKeyPrefix!: string;

  @Column({ name: 'api_key_hash', type: 'varchar', length: 64 })
  apiKeyHash!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** The relying party's API keys: more than one may be live (rotation); a revoked key fails at once. */
@Entity('relying_party_api_keys')
export class RelyingPartyApiKeyEntity {
  @Index('ux_relying_party_api_keys_prefix', { unique: true })
  @PrimaryColumn({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ name: 'relying_party_id', type: 'varchar', length: 36 })
  relyingPartyId!: string;

  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;
}

export type PresentationStatus = 'pending' | 'verified' | 'rejected' | 'expired';

/** One presentation request, from QR code to verdict. */
@Entity('presentation_requests')
export class PresentationRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'relying_party_id', type: 'varchar', length: 36 })
  relyingPartyId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 1000 })
  clientId!: string;

  /**
   * The authorization request payload (nonce, state, dcql_query, response_uri, client_metadata) and link,
   * sealed by src/keys (rows from before the hardening migration hold it as plain JSON).
   */
  @Column({ name: 'request_payload', type: 'text' })
  requestPayload!: string;

  /** The signed request object served at request_uri, sealed; null for redirect_uri and once answered. */
  @Column({ name: 'request_object', type: 'text', nullable: true })
  requestObject!: string | null;

  @Index('ux_presentation_requests_state', { unique: true })
  @Column({ name: 'state_hash', type: 'varchar', length: 64 })
  stateHash!: string;

  /** Ephemeral ECDH-ES P-256 private key (JWK) for direct_post.jwt, sealed by src/keys. */
  /** SHA-256 of the nonce: a key-binding JWT's nonce is checked against it before verification. */
  @Column({ name: 'nonce_hash', type: 'varchar', length: 64, nullable: true })
  nonceHash!: string | null;

  @Column({ name: 'encryption_key_sealed', type: 'text', nullable: true })
  encryptionKeySealed!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: PresentationStatus;

  /**
   * The verdict (verified flag, reasons, only the disclosed claims that were asked for), sealed by
   * src/keys; null once purged (VERDICT_RETENTION_SECONDS after first read, VERDICT_MAX_UNREAD_SECONDS at most).
   */
  @Column({ type: 'text', nullable: true })
  result!: string | null;

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
}
