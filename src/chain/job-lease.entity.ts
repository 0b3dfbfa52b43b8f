import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A named lease for a job that runs on one replica at a time (the reconciler). */
@Entity('job_leases')
export class JobLeaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  holder!: string | null;

  @Column({ name: 'lease_until', type: Date, nullable: true })
  leaseUntil!: Date | null;
}
