import { Injectable, Logger } from '@nestjs/common';
import type { RequestLike } from '@openid4vc/oauth2';
import { mapErrors, notJsonBody, oauthError } from '../../oauth/index.js';
import { Database } from '../../persistence/index.js';
import { laterNotification, parseNotification } from '../../oid4vci/index.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { DeferredRequestRepository } from './deferred.repository.js';
import { NotificationRepository } from './notification.repository.js';

/**
 * The notification endpoint (OID4VCI 1.0 §11): the wallet reports what became of issued credentials. Any
 * report also ends the re-delivery of a deferred response (ADR 18): its sealed copy is deleted.
 */
@Injectable()
export class NotificationService {
  private readonly logger = new Logger('NotificationService');

  constructor(
    private readonly tokens: AccessTokenVerifier,
    private readonly notifications: NotificationRepository,
    private readonly deferred: DeferredRequestRepository,
    private readonly db: Database,
  ) {}

  async notification(body: unknown, request: RequestLike): Promise<void> {
    return mapErrors(async () => {
      const { offer } = await this.tokens.authorisedOffer(request);
      if (notJsonBody(request.headers))
        throw oauthError(400, 'invalid_notification_request', 'The notification must be application/json');
      const { id, event, description } = parseNotification(body);
      // Notifications are idempotent (OID4VCI 1.0 §11): the same report again is a success that changes nothing;
      // a later event (credential_deleted after credential_accepted) replaces the recorded one. The report and the
      // end of re-delivery commit together.
      const reported = await this.db.transaction(async (tx) => {
        const now = new Date();
        let recorded = await this.notifications.report(id, offer.id, event, description, now, tx);
        if (!recorded && laterNotification(await this.notifications.byId(id, tx), offer.id, event) === 'later')
          recorded = await this.notifications.replaceEvent(id, offer.id, event, description, now, tx);
        await this.deferred.endRedelivery(id, offer.id, tx);
        return recorded;
      });
      if (reported) this.logger.log({ offerId: offer.id, notificationId: id, event }, 'wallet notification');
    }, 'invalid_notification_request');
  }
}
