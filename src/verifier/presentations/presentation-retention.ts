import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BackgroundJob } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';

/**
 * Personal data in verdicts is kept only as long as needed: every PRESENTATION_PURGE_INTERVAL_MS the claims
 * of verdicts whose time has come are purged, and requests that expired unanswered are deleted. What is left of
 * an answered request (ids, status, times) goes PRESENTATION_REQUEST_RETENTION_DAYS after its purge: anyone may
 * start and answer requests on the citizens' pages, so nothing of theirs may stay for ever (the verdict's audit
 * entry does, ADR 16).
 */
@Injectable()
export class PresentationRetention implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PresentationRetention');
  private readonly job = new BackgroundJob(this.logger, 'presentation purge');
  private readonly limits: AppConfig['oid4vp'];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly requests: PresentationRequestRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limits = config.oid4vp;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      void this.job.run(() => this.purgeNow());
    }, this.limits.purgeIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * Purges verdict claims whose retention is over and deletes requests that expired unanswered
   * (VERDICT_RETENTION_SECONDS after their expiry), and answered ones PRESENTATION_REQUEST_RETENTION_DAYS after
   * their purge.
   */
  async purgeNow(now = new Date()): Promise<{ verdicts: number; expired: number; deleted: number }> {
    const expiredBefore = new Date(now.getTime() - this.limits.verdictRetentionSeconds * 1000);
    const purgedBefore = new Date(now.getTime() - this.limits.requestRetentionDays * 86_400_000);
    const purged = await this.requests.purge(now, expiredBefore, purgedBefore);
    if (purged.verdicts || purged.expired || purged.deleted) this.logger.log(purged, 'presentation requests purged');
    return purged;
  }
}
