import { Inject, Injectable } from '@nestjs/common';
import type { RequestLike } from '@openid4vc/oauth2';
import { sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { KeyService } from '../../keys/index.js';
import { mapErrors, notJsonBody, oauthError } from '../../oauth/index.js';
import {
  DEFERRED_INTERVAL_SECONDS,
  deferredCompleted,
  deferredFinishesOffer,
  deferredReady,
  deferredTransactionProblem,
  deniedProblem,
  redeliveryStep,
  refuseResponseEncryption,
  type DeliveredResponse,
} from '../../oid4vci/index.js';
import { Database } from '../../persistence/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import type { DeferredRequestEntity } from './credential-endpoint.entity.js';
import { DeferredRequestRepository } from './deferred.repository.js';
import { OfferIssuance } from './offer-issuance.js';

/** Thrown by the single-use claim when a concurrent poll claimed the transaction first. */
class ClaimedElsewhere extends Error {}

/** The sealed copy's context: bound to the transaction, so it opens for no other row. */
const sealContext = (transactionHash: string) => `deferred:${transactionHash}`;

/**
 * Deferred credential endpoint (OID4VCI 1.0 §9.2): 202 with the same transaction_id and an interval
 * while the application waits for an officer, then 200 with the credentials. The response is issued once
 * and kept sealed for re-delivery (ADR 18): the same holder polling again gets the same credentials until
 * it notifies (notification endpoint) or OID4VCI_REDELIVERY_SECONDS pass; then invalid_transaction_id.
 */
@Injectable()
export class DeferredCredentialService {
  private readonly redeliverySeconds: number;
  private readonly sendNotificationId: boolean;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly tokens: AccessTokenVerifier,
    private readonly offers: OfferRepository,
    private readonly deferred: DeferredRequestRepository,
    private readonly issuance: OfferIssuance,
    private readonly keys: KeyService,
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.redeliverySeconds = config.oid4vci.redeliverySeconds;
    this.sendNotificationId = config.oid4vci.deferredNotificationId;
  }

  async deferredCredential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const { offer, dpopJkt, credentialIdentifiers } = await this.tokens.authorisedOffer(request);
      if (notJsonBody(request.headers))
        throw oauthError(400, 'invalid_credential_request', 'The deferred credential request must be application/json');
      refuseResponseEncryption(body);
      const transactionId = (body as { transaction_id?: unknown } | undefined)?.transaction_id;
      const row = typeof transactionId === 'string' ? await this.deferred.byTransactionHash(sha256Hex(transactionId)) : null;
      const stillPending = () => ({
        status: 202,
        body: this.protocol.issuer.createDeferredCredentialResponse({
          transactionId: transactionId as string,
          interval: DEFERRED_INTERVAL_SECONDS,
        }),
      });
      if (row?.status === 'issued') return this.redeliver(row, offer.id, dpopJkt);
      const problem = deferredTransactionProblem(transactionId, row, offer.id);
      if (problem) throw problem;
      const pending = row!;
      const current = (await this.offers.byId(offer.id))!;
      const denied = deniedProblem(current);
      if (denied) throw denied;
      if (!deferredReady(current)) return stillPending();
      // The single-use claim commits in the same transaction as the credentials and the sealed copy kept for
      // re-delivery: a crash before that commit leaves the request pending for the next poll, after it the
      // credentials exist once and can be delivered again; of concurrent polls only one commits (joint
      // approval, ADR 17). A poll of the same holder that loses the claim is told to poll again (202), and
      // by then the winner's response is kept for re-delivery (ADR 18).
      let delivered: DeliveredResponse;
      try {
        delivered = await this.issuance.issue(
          current,
          pending.configurationId,
          pending.holderKeys,
          // …and no other deferred request of the offer still waits for its claims (two polling at once both
          // leave them: the offer's expiry erases them then).
          deferredFinishesOffer(credentialIdentifiers ?? current.configurationIds, current) &&
            (await this.deferred.pendingCount(offer.id)) === 1,
          async (tx, response) => {
            const redeliver = this.redeliverySeconds > 0;
            const claimed = await this.deferred.complete(pending.transactionHash, tx, {
              holderJkt: dpopJkt ?? null,
              responseSealed: redeliver ? await this.keys.sealJson(response, sealContext(pending.transactionHash)) : null,
              notificationId: response.notificationId,
              redeliverUntil: redeliver ? new Date(Date.now() + this.redeliverySeconds * 1000) : null,
            });
            if (!claimed) throw new ClaimedElsewhere();
          },
        );
      } catch (error) {
        if (error instanceof ClaimedElsewhere) return stillPending();
        throw error;
      }
      return this.response(delivered);
    }, 'invalid_credential_request');
  }

  /** An issued transaction: the same response again to the same holder while the sealed copy is kept. */
  private async redeliver(row: DeferredRequestEntity, offerId: string, dpopJkt: string | undefined) {
    const step = redeliveryStep(
      {
        offerId: row.offerId,
        status: row.status,
        sealed: row.responseSealed !== null,
        redeliverUntil: row.redeliverUntil,
        holderJkt: row.holderJkt,
      },
      offerId,
      dpopJkt,
      new Date(),
    );
    if (step !== 'deliver') throw step;
    const delivered = await this.keys
      .openJson<DeliveredResponse>(row.responseSealed!, sealContext(row.transactionHash))
      .catch(() => Promise.reject(deferredCompleted()));
    // The copy commits with the credentials' group, whose WAL flush may still be running (its rows are visible
    // before they are durable, ADR 7 addendum 2): hand nothing out before it is on stable storage.
    await this.db.durable();
    return this.response(delivered);
  }

  private response(delivered: DeliveredResponse) {
    // @openid4vc 0.4.6 inverts a check in its deferred-response schema (client and server): it refuses
    // notification_id next to credentials. Wallets on that library would reject the response, so the
    // optional notification_id is sent only when OID4VCI_DEFERRED_NOTIFICATION_ID says so (ADR 18).
    if (this.sendNotificationId)
      return { status: 200, body: { credentials: delivered.credentials, notification_id: delivered.notificationId } };
    return { status: 200, body: this.protocol.issuer.createDeferredCredentialResponse({ credentials: delivered.credentials }) };
  }
}
