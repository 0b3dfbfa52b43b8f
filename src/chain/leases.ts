import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Database } from '../persistence/index.js';
import { JobLeaseEntity } from './outbox.entity.js';

/** This replica's name in leases: host, process and a random part (two apps in one process differ). */
@Injectable()
export class Replica {
  readonly id = `${hostname().slice(0, 24)}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * Named leases in the database for jobs that must run on one replica at a time. A lease is taken when
 * it is free, expired, or already ours (renewal); a replica that dies simply lets it run out.
 */
@Injectable()
export class JobLeases {
  constructor(
    private readonly db: Database,
    private readonly replica: Replica,
  ) {}

  /** True if this replica now holds the lease `name` for leaseMs. */
  async acquire(name: string, leaseMs: number): Promise<boolean> {
    const now = new Date();
    const until = new Date(now.getTime() + leaseMs);
    const taken = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(JobLeaseEntity)
        .set({ holder: this.replica.id, leaseUntil: until })
        .where('name = :name', { name })
        .andWhere('(holder = :holder OR lease_until IS NULL OR lease_until < :now)', { holder: this.replica.id, now })
        .execute(),
    );
    if ((taken.affected ?? 0) > 0) return true;
    try {
      await this.db.use(undefined, (m) =>
        m.getRepository(JobLeaseEntity).insert({ name, holder: this.replica.id, leaseUntil: until }),
      );
      return true;
    } catch {
      // The row exists (another replica holds the lease) or was inserted by another replica just now.
      return false;
    }
  }

  async release(name: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(JobLeaseEntity)
        .set({ holder: null, leaseUntil: null })
        .where('name = :name AND holder = :holder', { name, holder: this.replica.id })
        .execute(),
    );
  }
}
