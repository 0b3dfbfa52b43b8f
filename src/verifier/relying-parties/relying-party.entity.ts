import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';
import type { ClientIdPrefix } from '../../oid4vp/index.js';

/** Catalogue type id → claim names a party may request (data minimisation). */
export type AllowedClaims = Record<string, string[]>;

/** A bank, police unit or department allowed to ask citizens for specific claims. */
@Entity('relying_parties')
export class RelyingPartyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 500 })
  purpose!: string;

  /** Catalogue type id → claim names this party may request (data minimisation); JSON text. */
  @Column(jsonColumn<AllowedClaims>({ name: 'allowed_claims' }))
  allowedClaims!: AllowedClaims;

  @Column({ name: 'client_id_prefix', type: 'varchar', length: 32 })
  clientIdPrefix!: ClientIdPrefix;

  /** ES256 key that signs its request objects (decentralized_identifier: did:jwk of it; x509: its certificate). */
  @Column({ name: 'signing_key_id', type: 'varchar', length: 36 })
  signingKeyId!: string;

  /** Self-issued X.509 certificate (base64 DER) for x509_san_dns and x509_hash, naming our public host. */
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
