import type { OAuthError } from '../common/index.js';
import { oauthError } from '../oauth/index.js';

/**
 * The refresh_token grant of the token endpoint (RFC 6749 §6, OID4VCI 1.0 §6, ADR 18). Refresh tokens are
 * issued only for offers whose issuance can be deferred (an officer's or a joint approval), form a family
 * that rotates on every use (RFC 9700 §4.14.2), stay bound to the DPoP key of the first token (RFC 9449 §5),
 * and never outlive the offer.
 */

/**
 * `rotated`: used, its successor made by that refresh; `replaced`: an unused successor retired by a retry of its
 * predecessor (never seen by the wallet, so any later use is reuse and it has no retry of its own).
 */
export type RefreshTokenStatus = 'active' | 'rotated' | 'replaced' | 'revoked';

/**
 * How long after a rotation the rotated token may be presented again (ADR 18 addendum): a wallet whose
 * refresh response was lost retries with the token it still has; while the token it was rotated into is
 * unused, that one is replaced instead of the family being revoked. Short, so a stolen Bearer token is of
 * little use, and any later use of a replaced token is reuse.
 */
export const REFRESH_RETRY_GRACE_SECONDS = 120;

/** Whether a token response gets a refresh token: only when the wallet may have to poll beyond one access token. */
export const issuesRefreshToken = (offer: { approval: 'pending' | 'approved' | 'rejected' | null }): boolean =>
  offer.approval === 'pending' || offer.approval === 'approved';

/** The family's absolute end: the configured maximum from its first token, and never after the offer's expiry. */
export function refreshFamilyExpiry(now: Date, maxSeconds: number, offerExpiresAt: Date): Date {
  return new Date(Math.min(now.getTime() + maxSeconds * 1000, offerExpiresAt.getTime()));
}

export interface StoredRefreshToken {
  status: RefreshTokenStatus;
  offerId: string;
  expiresAt: Date;
}

export interface RefreshOffer {
  status: string;
  approval: 'pending' | 'approved' | 'rejected' | null;
}

/**
 * Why a presented refresh token gives no new token, if it does not: unknown, expired, revoked, or already
 * rotated or replaced (a reuse: the caller revokes the whole family, `revokeFamily`), or its offer has ended (the
 * application was rejected or expired, or the offer is gone).
 */
export function refreshGrantProblem(
  token: StoredRefreshToken | null,
  offer: RefreshOffer | null,
  now: Date,
): { problem: OAuthError; revokeFamily: boolean } | undefined {
  if (!token) return { problem: oauthError(400, 'invalid_grant', 'Unknown refresh token'), revokeFamily: false };
  if (token.status === 'rotated' || token.status === 'replaced')
    return {
      problem: oauthError(400, 'invalid_grant', 'The refresh token was already used; every token of its grant is revoked'),
      revokeFamily: true,
    };
  if (token.status === 'revoked')
    return { problem: oauthError(400, 'invalid_grant', 'The refresh token was revoked'), revokeFamily: false };
  if (token.expiresAt.getTime() <= now.getTime())
    return { problem: oauthError(400, 'invalid_grant', 'The refresh token expired'), revokeFamily: false };
  if (!offer || (offer.status !== 'redeemed' && offer.status !== 'issued') || offer.approval === 'rejected')
    return { problem: oauthError(400, 'invalid_grant', 'The grant of this refresh token has ended'), revokeFamily: false };
  return undefined;
}

/**
 * RFC 9449 §5: a refresh token issued with a DPoP-bound access token is bound to that key; the proof of a
 * refresh must be signed by it (another key: invalid_grant, the grant is not this key's). A Bearer grant
 * stays Bearer: a DPoP proof cannot bind its tokens afterwards.
 */
export function refreshBindingProblem(boundJkt: string | null, presentedJkt: string | undefined): OAuthError | undefined {
  if (boundJkt !== null && presentedJkt !== boundJkt)
    return oauthError(400, 'invalid_grant', 'The refresh token is bound to another DPoP key');
  if (boundJkt === null && presentedJkt !== undefined)
    return oauthError(400, 'invalid_dpop_proof', 'This refresh token is not DPoP-bound; send no DPoP proof');
  return undefined;
}

/**
 * RFC 6749 §6: the refresh token must have been issued to the client refreshing it. A grant made to a named client
 * is refreshed by that client naming itself (client_id is "REQUIRED, if the client is not authenticating", as for the
 * code exchange; no client authenticates here); a grant made to no named client (an anonymous pre-authorized code)
 * takes any. `requestedClientId` as `tokenRequestClientId` (client-id.ts) read it.
 */
export function refreshClientProblem(
  grantClientId: string | null,
  requestedClientId: string | undefined,
): OAuthError | undefined {
  if (grantClientId === null) return undefined;
  if (requestedClientId === undefined)
    return oauthError(400, 'invalid_request', 'client_id is required: this refresh token was issued to a named client');
  if (requestedClientId !== grantClientId)
    return oauthError(400, 'invalid_grant', 'The refresh token was issued to another client');
  return undefined;
}

/**
 * RFC 6749 §6: a requested scope must not include anything the original grant did not. The grant is the
 * offer's configurations; their scope values are the original scope. Omitted means the original.
 */
export function refreshScopeProblem(requested: unknown, granted: readonly string[]): OAuthError | undefined {
  if (requested === undefined) return undefined;
  if (typeof requested !== 'string') return oauthError(400, 'invalid_request', 'scope must be a string');
  const asked = requested.split(' ').filter(Boolean);
  if (asked.some((scope) => !granted.includes(scope)))
    return oauthError(400, 'invalid_scope', 'The requested scope exceeds the scope originally granted');
  return undefined;
}
