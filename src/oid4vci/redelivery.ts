import type { OAuthError } from '../common/index.js';
import { deferredCompleted } from './deferred.js';

/** What the deferred endpoint sent when it issued: kept sealed for re-delivery (ADR 18). */
export interface DeliveredResponse {
  credentials: { credential: string }[];
  notificationId: string;
}

/** The re-delivery state of an issued deferred request. */
export interface IssuedTransaction {
  offerId: string;
  status: 'pending' | 'issued';
  /** Whether the sealed copy of the response is still kept. */
  sealed: boolean;
  redeliverUntil: Date | null;
  /** The DPoP key thumbprint of the access token that received the first delivery; null for a Bearer token. */
  holderJkt: string | null;
}

/**
 * A poll for a transaction that was already issued gets the same response again (not a second issuance)
 * while the sealed copy is kept: same offer (the one grant every token of the offer descends from), same
 * holder (the DPoP key the first delivery went to; Bearer stays Bearer), before the window closes (the
 * wallet's notification, or the grace period). Anything else is invalid_transaction_id.
 */
export function redeliveryProblem(
  transaction: IssuedTransaction,
  offerId: string,
  presentedJkt: string | undefined,
  now: Date,
): OAuthError | undefined {
  if (
    transaction.status !== 'issued' ||
    !transaction.sealed ||
    transaction.offerId !== offerId ||
    transaction.redeliverUntil === null ||
    transaction.redeliverUntil.getTime() <= now.getTime() ||
    transaction.holderJkt !== (presentedJkt ?? null)
  )
    return deferredCompleted();
  return undefined;
}
