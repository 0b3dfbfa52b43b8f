import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BackgroundJob } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';

/**
 * Personal data in verdicts is kept only as long as needed: every PRESENTATION_PURGE_INTERVAL_MS the claims
 * of verdicts whose time has come are purged, and requests that expired unanswered are deleted.
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
   * (VERDICT_RETENTION_SECONDS after their expiry).
   */
  async purgeNow(now = new Date()): Promise<{ verdicts: number; expired: number }> {
    const expiredBefore = new Date(now.getTime() - this.limits.verdictRetentionSeconds * 1000);
    const purged = await this.requests.purge(now, expiredBefore);
    if (purged.verdicts || purged.expired) this.logger.log(purged, 'presentation requests purged');
    return purged;
  }
}
