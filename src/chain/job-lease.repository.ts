import { Injectable } from '@nestjs/common';
import { Database, isUniqueViolation } from '../persistence/index.js';
import { JobLeaseEntity } from './job-lease.entity.js';

/** Named leases for jobs that run on one replica at a time. */
@Injectable()
export class JobLeaseRepository {
  constructor(private readonly db: Database) {}

  /**
   * Takes the lease `name` for `holder` until `until`: exactly one of any number of concurrent callers
   * wins. Taken when it is free, ran out before `now`, or is already the holder's (renewal). The first
   * claim ever inserts the row; when several replicas race for that, the primary key lets one insert win.
   */
  async claim(name: string, holder: string, now: Date, until: Date): Promise<boolean> {
    const taken = await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(JobLeaseEntity)
        .set({ holder, leaseUntil: until })
        .where('name = :name', { name })
        .andWhere('(holder = :holder OR lease_until IS NULL OR lease_until < :now)', { holder, now })
        .execute(),
    );
    if ((taken.affected ?? 0) > 0) return true;
    try {
      await this.db.use(undefined, (m) => m.getRepository(JobLeaseEntity).insert({ name, holder, leaseUntil: until }));
      return true;
    } catch (error) {
      // The row exists: another replica holds the lease, or inserted it just now.
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Frees the lease if `holder` still has it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .createQueryBuilder()
        .update(JobLeaseEntity)
        .set({ holder: null, leaseUntil: null })
        .where('name = :name AND holder = :holder', { name, holder })
        .execute(),
    );
  }
}
