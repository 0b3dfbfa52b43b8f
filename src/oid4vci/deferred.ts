import type { OAuthError } from '../common/index.js';
import { oauthError } from '../oauth/index.js';

/**
 * A deferred credential request (OID4VCI 1.0 §9.1): the transaction_id names a pending request of the
 * offer the access token belongs to; anything else (unknown, another offer's, already issued) is
 * invalid_transaction_id. A request without a transaction_id string is malformed: invalid_credential_request (§9.3).
 */
export function deferredTransactionProblem(
  transactionId: unknown,
  pending: { offerId: string; status: 'pending' | 'issued' } | null,
  offerId: string,
): OAuthError | undefined {
  if (typeof transactionId !== 'string')
    return oauthError(400, 'invalid_credential_request', 'The deferred credential request needs a transaction_id string');
  if (!pending || pending.offerId !== offerId || pending.status !== 'pending') return deferredCompleted();
  return undefined;
}

export const deferredCompleted = () => oauthError(400, 'invalid_transaction_id', 'Unknown or already completed transaction_id');

type Approval = 'pending' | 'approved' | 'rejected' | null;

/** The credentials of a deferred request are issued once an officer approved the application (else 202 again). */
export const deferredReady = (offer: { approval: Approval }): boolean => offer.approval === 'approved';

/**
 * An application that was rejected (or whose deadline passed) ends the request: OID4VCI 1.0 §8.3.1.2 /
 * §9.3 credential_request_denied, "the Credential Request has not been accepted by the Credential Issuer".
 */
export function deniedProblem(offer: { approval: Approval }): OAuthError | undefined {
  if (offer.approval !== 'rejected') return undefined;
  return oauthError(400, 'credential_request_denied', 'The application for this credential was not approved');
}

/**
 * Whether issuing the deferred credential finishes the offer: every configuration the grant covers (the offer's,
 * or those a wallet narrowed it to with authorization_details) was requested.
 */
export const deferredFinishesOffer = (granted: readonly string[], offer: { issuedConfigurations: readonly string[] }) =>
  granted.every((configuration) => offer.issuedConfigurations.includes(configuration));
