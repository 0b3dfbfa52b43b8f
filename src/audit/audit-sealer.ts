import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BackgroundJob } from '../common/index.js';
import { AuditRepository } from './audit.repository.js';

/** Backstop: entries left pending by a replica that died before sealing them are chained within this. */
const SWEEP_MS = 1_000;

/**
 * Chains the issuance audit entries that PostgreSQL group commits leave pending (ADR 20): right after
 * each group commit (`sealSoon`, coalesced: one sealing transaction for however many groups committed
 * meanwhile), at boot, and every second for entries another replica left behind. Every other append
 * chains the pending entries first, and anchoring seals before it takes a range. On SQLite the group
 * commit chains its entries itself, so only the (cheap, empty) sweep runs there.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditSealer');
  private readonly job = new BackgroundJob(this.logger, 'audit sealing');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly repository: AuditRepository) {}

  onApplicationBootstrap(): void {
    this.sealSoon();
    this.timer = setInterval(() => this.sealSoon(), SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Starts sealing unless a round is under way (then one more round follows it). Never rejects. */
  sealSoon(): void {
    if (this.stopped) return;
    void this.round().catch(() => undefined);
  }

  /** Seals every entry pending now (what committed before the call); rejects when sealing fails. */
  async seal(): Promise<void> {
    await this.running?.catch(() => undefined);
    while ((await this.repository.sealPending()) > 0);
  }

  private round(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.job.run(async () => {
          while (!this.stopped && (await this.repository.sealPending()) > 0);
        });
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}
