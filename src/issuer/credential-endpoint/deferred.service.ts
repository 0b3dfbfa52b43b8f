import { Injectable } from '@nestjs/common';
import type { RequestLike } from '@openid4vc/oauth2';
import { sha256Hex } from '../../common/index.js';
import { mapErrors } from '../../oauth/index.js';
import {
  DEFERRED_INTERVAL_SECONDS,
  deferredCompleted,
  deferredFinishesOffer,
  deferredReady,
  deferredTransactionProblem,
  deniedProblem,
} from '../../oid4vci/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { DeferredRequestRepository } from './deferred.repository.js';
import { OfferIssuance } from './offer-issuance.js';

/**
 * Deferred credential endpoint (OID4VCI 1.0 §9.2): 202 with the same transaction_id and an interval
 * while the application waits for an officer, then 200 with the credentials, once.
 */
@Injectable()
export class DeferredCredentialService {
  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly tokens: AccessTokenVerifier,
    private readonly offers: OfferRepository,
    private readonly deferred: DeferredRequestRepository,
    private readonly issuance: OfferIssuance,
  ) {}

  async deferredCredential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const { offer } = await this.tokens.authorisedOffer(request);
      const transactionId = (body as { transaction_id?: unknown } | undefined)?.transaction_id;
      const pending = typeof transactionId === 'string' ? await this.deferred.byTransactionHash(sha256Hex(transactionId)) : null;
      const problem = deferredTransactionProblem(transactionId, pending, offer.id);
      if (problem) throw problem;
      const current = (await this.offers.byId(offer.id))!;
      const denied = deniedProblem(current);
      if (denied) throw denied;
      if (!deferredReady(current)) {
        return {
          status: 202,
          body: this.protocol.issuer.createDeferredCredentialResponse({
            transactionId: transactionId as string,
            interval: DEFERRED_INTERVAL_SECONDS,
          }),
        };
      }
      // The single-use claim commits in the same transaction as the (first) credential record: a crash
      // before that commit leaves the request pending for the next poll, after it the credential exists
      // once; of concurrent polls only one commits (joint approval, ADR 17).
      const { credentials } = await this.issuance.issue(
        current,
        pending!.configurationId,
        pending!.holderKeys,
        deferredFinishesOffer(current),
        async (tx) => {
          if (!(await this.deferred.complete(pending!.transactionHash, tx))) throw deferredCompleted();
        },
      );
      // @openid4vc 0.4.6 inverts a check in its deferred-response schema (client and server): it refuses
      // notification_id next to credentials. Wallets on that library would reject the response, so the
      // optional notification_id is left out of deferred responses; the notification row still exists.
      return { status: 200, body: this.protocol.issuer.createDeferredCredentialResponse({ credentials }) };
    }, 'invalid_credential_request');
  }
}
