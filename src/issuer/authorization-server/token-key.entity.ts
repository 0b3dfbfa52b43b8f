import type { Jwk } from '@openid4vc/oauth2';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';

export type PublicTokenJwk = Pick<Jwk, 'kty' | 'crv' | 'x' | 'y'>;

/**
 * The OID4VCI access-token signing keys. `generation` is the primary key: two replicas that race to
 * create the first (or the next) key insert the same generation, one insert wins and both read it back.
 * Tokens are signed with the newest active key and accepted with any active one (by kid).
 */
@Entity('oid4vci_token_keys')
export class Oid4vciTokenKeyEntity {
  @PrimaryColumn({ type: 'integer' })
  generation!: number;

  /** The key in src/keys that signs. */
  @Column({ name: 'key_id', type: 'varchar', length: 36 })
  keyId!: string;

  /** RFC 7638 thumbprint of the public key; the JWS kid. */
  @Index('ux_oid4vci_token_keys_kid', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  kid!: string;

  /** The public JWK (kty, crv, x, y), kept as JSON text. */
  @Column(jsonColumn<PublicTokenJwk>({ name: 'public_jwk' }))
  publicJwk!: PublicTokenJwk;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  /** Null while current; after a rotation, the time until which tokens it signed are still accepted. */
  @Column({ name: 'retire_at', type: Date, nullable: true })
  retireAt!: Date | null;
}
