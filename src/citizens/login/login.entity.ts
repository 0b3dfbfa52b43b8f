import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';
import type { ClientAuthMethod, IdTokenSigningAlg } from './client-registration.js';

/** A portal registered by the operator to log citizens in with their wallet. */
@Entity('oidc_clients')
export class OidcClientEntity {
  /** The OAuth client_id. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column(jsonColumn<string[]>({ name: 'redirect_uris' }))
  redirectUris!: string[];

  /** Credential scopes the portal may ask for (openid is implied). */
  @Column(jsonColumn<string[]>())
  scopes!: string[];

  @Column({ name: 'token_endpoint_auth_method', type: 'varchar', length: 32 })
  tokenEndpointAuthMethod!: ClientAuthMethod;

  /** What the portal's ID tokens are signed with (ES256 unless it registered RS256). */
  @Column({ name: 'id_token_signed_response_alg', type: 'varchar', length: 8, default: 'ES256' })
  idTokenSignedResponseAlg!: IdTokenSigningAlg;

  /** SHA-256 (hex) of the client secret; null for private_key_jwt. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64, nullable: true })
  secretHash!: string | null;

  @Column(jsonColumn<{ keys: Record<string, unknown>[] }>({ nullable: true }))
  jwks!: { keys: Record<string, unknown>[] } | null;

  /** The consortium data-sharing permission the portal relies on (issue 15 enforces it on chain). */
  @Column({ name: 'data_sharing_permission', type: 'varchar', length: 200, nullable: true })
  dataSharingPermission!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/**
 * oidc-provider's state (sessions, interactions, codes, PARs, access tokens, grants, replay records). Ids are
 * bearer values (a code, a token), so rows are keyed by their SHA-256 and the payload, which repeats the id, is
 * sealed by src/keys.
 */
@Entity('oidc_records')
export class OidcRecordEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  model!: string;

  @PrimaryColumn({ name: 'id_hash', type: 'varchar', length: 64 })
  idHash!: string;

  @Column({ type: 'text' })
  payload!: string;

  @Index('ix_oidc_records_grant')
  @Column({ name: 'grant_id_hash', type: 'varchar', length: 64, nullable: true })
  grantIdHash!: string | null;

  @Index('ix_oidc_records_uid')
  @Column({ name: 'uid_hash', type: 'varchar', length: 64, nullable: true })
  uidHash!: string | null;

  @Index('ix_oidc_records_expires')
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  /** Set once by a conditional UPDATE: a code or a pushed request is used at most once. */
  @Column({ name: 'consumed_at', type: Date, nullable: true })
  consumedAt!: Date | null;
}

/** One login page: its cross-device request (QR code) and, once the citizen asks for it, its same-device request. */
@Entity('citizen_logins')
export class CitizenLoginEntity {
  /** oidc-provider's interaction uid. */
  @PrimaryColumn({ name: 'interaction_uid', type: 'varchar', length: 64 })
  interactionUid!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 36 })
  clientId!: string;

  @Column({ type: 'varchar', length: 64 })
  scope!: string;

  @Column({ name: 'cross_device_request_id', type: 'varchar', length: 64 })
  crossDeviceRequestId!: string;

  @Column({ name: 'same_device_request_id', type: 'varchar', length: 64, nullable: true })
  sameDeviceRequestId!: string | null;

  /** What the page needs to show and poll (links, QR codes, read tokens), sealed by src/keys. */
  @Column({ name: 'page_sealed', type: 'text' })
  pageSealed!: string;

  @Index('ix_citizen_logins_expires')
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  /** Set once (conditional UPDATE) by whichever poll or return finishes the interaction. */
  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  /** The grant a finish committed (with its claims and audit entry); a retried finish completes with it. */
  @Column({ name: 'grant_id', type: 'varchar', length: 64, nullable: true })
  grantId!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** The claims a login releases to its portal, kept only OIDC_CLAIMS_RETENTION_SECONDS for the code and userinfo. */
@Entity('citizen_login_claims')
export class CitizenLoginClaimsEntity {
  /** The oidc-provider grant the login created; codes and access tokens name it. */
  @PrimaryColumn({ name: 'grant_id', type: 'varchar', length: 64 })
  grantId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 36 })
  clientId!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 64 })
  accountId!: string;

  @Column({ name: 'claims_sealed', type: 'text' })
  claimsSealed!: string;

  @Index('ix_citizen_login_claims_purge')
  @Column({ name: 'purge_at', type: Date })
  purgeAt!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** Values created once per deployment and shared by every replica (the ID-token key, the internal relying party). */
@Entity('citizen_login_settings')
export class CitizenLoginSettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name!: string;

  /** Sealed by src/keys when it is a secret. */
  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
