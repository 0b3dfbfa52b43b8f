import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BackgroundJob } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { AuthorizationSessionRepository } from '../authorization-server/authorization-session.repository.js';
import { RefreshTokenRepository } from '../authorization-server/refresh-token.repository.js';
import { DeferredRequestRepository } from '../credential-endpoint/deferred.repository.js';
import { NonceRepository } from '../credential-endpoint/nonce.repository.js';
import { OfferRepository } from '../offers/offer.repository.js';

/**
 * Drops expired OID4VCI state every OID4VCI_PURGE_INTERVAL_MS: nonces and remembered DPoP jtis, pushed
 * requests and unexchanged codes, the sealed claims and offer objects of offers that expired (or were
 * locked) unredeemed, refresh-token families past their end, and sealed deferred responses whose
 * re-delivery window closed (ADR 18), and the holder keys of deferred requests whose application was refused. One timer per replica; each run is plain conditional statements, so replicas
 * may overlap.
 */
@Injectable()
export class Oid4vciPurge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Oid4vciPurge');
  private readonly job = new BackgroundJob(this.logger, 'OID4VCI purge');
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nonces: NonceRepository,
    private readonly sessions: AuthorizationSessionRepository,
    private readonly offers: OfferRepository,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly deferred: DeferredRequestRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.intervalMs = config.oid4vci.purgeIntervalMs;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      void this.job.run(() => this.purgeExpired(new Date()));
    }, this.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async purgeExpired(now: Date): Promise<void> {
    await this.nonces.purgeExpired(now);
    await this.sessions.purgeExpired(now);
    await this.offers.purgeExpiredSealedState(now);
    await this.refreshTokens.purgeExpired(now);
    await this.deferred.purgeRedelivery(now);
    await this.deferred.forgetRefusedHolderKeys();
  }
}
