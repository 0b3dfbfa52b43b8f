import { authorizationCodeGrantIdentifier, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { secretsEqual, sha256Hex, type OAuthError } from '../common/index.js';
import { oauthError } from '../oauth/index.js';
import { MAX_CODE_FAILURES } from './lifetimes.js';

/** What the grant rules need to know of an offer. */
export interface GrantOffer {
  id: string;
  flow: 'pre-authorized_code' | 'authorization_code';
  status: 'offered' | 'redeemed' | 'issued' | 'locked';
  expiresAt: Date;
  /** SHA-256 of `<offer id>:<code>` for the PIN (tx_code) or the login code; null without one. */
  txCodeHash: string | null;
}

/** How a PIN or login code is stored: hashed, bound to its offer. */
export const offerCodeHash = (offerId: string, code: string): string => sha256Hex(`${offerId}:${code}`);

/** Constant-time comparison of a given PIN or login code with the offer's. */
export const offerCodeMatches = (offer: Pick<GrantOffer, 'id' | 'txCodeHash'>, given: string | undefined): boolean =>
  given !== undefined &&
  given !== '' &&
  offer.txCodeHash !== null &&
  secretsEqual(offerCodeHash(offer.id, given), offer.txCodeHash);

/** The grants of a new credential offer (OID4VCI 1.0 §4.1.1): the pre-authorized code (with its PIN), or issuer_state. */
export function offerGrants(flow: GrantOffer['flow'], grantSecret: string, txCode: string | undefined) {
  if (flow === 'authorization_code') return { [authorizationCodeGrantIdentifier]: { issuer_state: grantSecret } };
  return {
    [preAuthorizedCodeGrantIdentifier]: {
      'pre-authorized_code': grantSecret,
      ...(txCode ? { tx_code: { input_mode: 'numeric', length: 6, description: 'PIN sent to you by SMS / 短信验证码' } } : {}),
    },
  };
}

/**
 * The token request's pre-authorized code, before any PIN attempt is counted: it must name an open,
 * unexpired pre-authorized offer (invalid_grant), and carry a tx_code exactly when the offer has one
 * (OID4VCI 1.0 §6.3: invalid_request, which costs no attempt).
 */
export function preAuthorizedGrantProblem(
  offer: GrantOffer | null,
  txCode: string | undefined,
  now: Date,
): OAuthError | undefined {
  if (!offer || offer.flow !== 'pre-authorized_code') return oauthError(400, 'invalid_grant', 'Unknown pre-authorized code');
  if (offer.status === 'locked') return oauthError(400, 'invalid_grant', 'Too many wrong PINs; ask for a new offer');
  if (offer.status !== 'offered') return oauthError(400, 'invalid_grant', 'The pre-authorized code was already used');
  if (offer.expiresAt <= now) return oauthError(400, 'invalid_grant', 'The credential offer has expired');
  if (offer.txCodeHash && (txCode === undefined || txCode === ''))
    return oauthError(400, 'invalid_request', 'This offer needs its tx_code (the PIN sent to you)');
  if (!offer.txCodeHash && txCode !== undefined)
    return oauthError(400, 'invalid_request', 'This offer has no tx_code; do not send one');
  return undefined;
}

/**
 * One PIN or login-code attempt. The attempt is reserved (counted) before the comparison, so
 * `attemptsUsed` includes this one, or is undefined when none was left.
 */
export type CodeAttempt =
  | { outcome: 'accepted' }
  | { outcome: 'wrong'; triesLeft: number }
  /** This wrong code used the last attempt: the caller locks the offer. */
  | { outcome: 'locked_now' }
  | { outcome: 'locked' };

export function codeAttempt(attemptsUsed: number | undefined, matches: boolean, max = MAX_CODE_FAILURES): CodeAttempt {
  if (attemptsUsed === undefined) return { outcome: 'locked' };
  if (matches) return { outcome: 'accepted' };
  if (attemptsUsed >= max) return { outcome: 'locked_now' };
  return { outcome: 'wrong', triesLeft: max - attemptsUsed };
}

/** The token endpoint's answer to a refused PIN attempt (all invalid_grant). */
export function pinAttemptError(attempt: Exclude<CodeAttempt, { outcome: 'accepted' }>): OAuthError {
  switch (attempt.outcome) {
    case 'locked':
      return oauthError(400, 'invalid_grant', 'Too many wrong PINs; ask for a new offer');
    case 'locked_now':
      return oauthError(400, 'invalid_grant', 'Wrong PIN; the offer is now locked');
    case 'wrong':
      return oauthError(400, 'invalid_grant', `Wrong PIN (${attempt.triesLeft} tries left)`);
  }
}
