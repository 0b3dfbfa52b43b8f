import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Contracts we deployed, per chain (the ERC-1056 registry, the trusted-issuer registry, the status anchor). */
@Entity('chain_contracts')
export class ChainContractEntity {
  @PrimaryColumn({ name: 'chain_id', type: 'integer' })
  chainId!: number;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 42 })
  address!: string;

  @Column({ name: 'outbox_id', type: 'varchar', length: 36, nullable: true })
  outboxId!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
