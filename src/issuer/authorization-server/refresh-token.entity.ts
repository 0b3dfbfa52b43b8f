import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';
import type { RefreshTokenStatus } from '../../oid4vci/index.js';

/**
 * Refresh tokens of deferred offers (RFC 6749 §6, ADR 18), as SHA-256 digests only. Every refresh turns
 * the presented row `active → rotated` (one conditional UPDATE) and inserts its successor in the same
 * family; a rotated or replaced token presented again revokes the family (ADR 18). The family keeps the first token's binding
 * (DPoP key), grant (credential identifiers) and absolute expiry.
 */
@Entity('oid4vci_refresh_tokens')
export class Oid4vciRefreshTokenEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Index('ix_oid4vci_refresh_tokens_family')
  @Column({ name: 'family_id', type: 'varchar', length: 36 })
  familyId!: string;

  @Column({ name: 'offer_id', type: 'varchar', length: 36 })
  offerId!: string;

  /** RFC 9449 §5: the thumbprint of the DPoP key the family is bound to; null for a Bearer grant. */
  @Column({ name: 'dpop_jkt', type: 'varchar', length: 64, nullable: true })
  dpopJkt!: string | null;

  /** The client_id the grant was made to (the authorization request's, or the pre-authorized token request's), or null. */
  @Column({ name: 'client_id', type: 'varchar', length: 1000, nullable: true })
  clientId!: string | null;

  /** The credential identifiers the first token granted (authorization_details; JSON text), or null. */
  @Column(jsonColumn<string[]>({ name: 'credential_identifiers', nullable: true }))
  credentialIdentifiers!: string[] | null;

  /**
   * The token this one replaced (null for a family's first): a wallet that lost a refresh response retries
   * with that token, and gets this one replaced while it is unused (ADR 18 addendum).
   */
  @Index('ix_oid4vci_refresh_tokens_previous')
  @Column({ name: 'previous_hash', type: 'varchar', length: 64, nullable: true })
  previousHash!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: RefreshTokenStatus;

  /** The family's absolute end (the same on every token of the family). */
  @Index('ix_oid4vci_refresh_tokens_expiry')
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
