import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';

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

  /** The configuration ids asked for by authorization_details (JSON text); null when the request used scope. */
  @Column(jsonColumn<string[]>({ name: 'credential_identifiers', nullable: true }))
  credentialIdentifiers!: string[] | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
