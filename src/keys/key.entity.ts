import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('keys')
export class KeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** JOSE algorithm the key signs with: ES256 (P-256), ES256K (secp256k1, chain accounts), RS256 (ID tokens). */
  @Column({ type: 'varchar', length: 16 })
  algorithm!: string;

  @Column({ type: 'varchar', length: 32 })
  purpose!: string;

  /** Who the key belongs to, e.g. an agency id; null for service keys. */
  @Column({ name: 'owner_ref', type: 'varchar', length: 64, nullable: true })
  ownerRef!: string | null;

  /** EC: uncompressed SEC1 public key; RSA: SubjectPublicKeyInfo (DER, up to 4096 bits); hex without 0x. */
  @Column({ name: 'public_key_hex', type: 'varchar', length: 1100 })
  publicKeyHex!: string;

  @Column({ type: 'varchar', length: 42, nullable: true })
  address!: string | null;

  @Column({ type: 'varchar', length: 16 })
  backend!: string;

  /** Opaque to everything but the backend: an encrypted private key (local) or an HSM object reference. */
  @Column({ name: 'secret_ref', type: 'text' })
  secretRef!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
