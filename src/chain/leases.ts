import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JobLeaseRepository } from './job-lease.repository.js';

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
    private readonly repository: JobLeaseRepository,
    private readonly replica: Replica,
  ) {}

  /** True if this replica now holds the lease `name` for leaseMs. */
  acquire(name: string, leaseMs: number): Promise<boolean> {
    const now = new Date();
    return this.repository.claim(name, this.replica.id, now, new Date(now.getTime() + leaseMs));
  }

  release(name: string): Promise<void> {
    return this.repository.release(name, this.replica.id);
  }
}
