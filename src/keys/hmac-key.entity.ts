import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Named HMAC secrets of the deployment (e.g. the one behind pairwise subject identifiers): 32 random bytes
 * sealed by the key backend. The name is the primary key, so racing replicas create one secret and share it.
 */
@Entity('hmac_keys')
export class HmacKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** The secret, sealed by the backend under the context `hmac-key:<name>`. */
  @Column({ type: 'text' })
  sealed!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
