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
  /** The DPoP key thumbprint of the access token of the poll that claimed it; null for a Bearer token. */
  holderJkt: string | null;
}

/**
 * A poll for a transaction that was already issued: the same response again (not a second issuance) while
 * the sealed copy is kept (it commits with the issuance) — `deliver`. Only for the same offer (the one grant
 * every token of the offer descends from) and the same holder (the DPoP key of the poll that claimed it;
 * Bearer stays Bearer). Anything else — another holder, the window closed by the wallet's notification or
 * the grace period, re-delivery switched off — is invalid_transaction_id.
 */
export function redeliveryStep(
  transaction: IssuedTransaction,
  offerId: string,
  presentedJkt: string | undefined,
  now: Date,
): 'deliver' | OAuthError {
  if (
    transaction.status !== 'issued' ||
    !transaction.sealed ||
    transaction.offerId !== offerId ||
    transaction.redeliverUntil === null ||
    transaction.redeliverUntil.getTime() <= now.getTime() ||
    transaction.holderJkt !== (presentedJkt ?? null)
  )
    return deferredCompleted();
  return 'deliver';
}
