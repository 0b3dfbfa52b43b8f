import { OAuthError } from '../common/index.js';
import {
  codeAttempt,
  offerCodeHash,
  offerCodeMatches,
  offerGrants,
  pinAttemptError,
  preAuthorizedGrantProblem,
  type GrantOffer,
} from './pre-authorized-grant.js';

const now = new Date('2026-11-25T05:00:00Z');
const offer = (overrides: Partial<GrantOffer> = {}): GrantOffer => ({
  id: 'offer-1',
  flow: 'pre-authorized_code',
  status: 'offered',
  expiresAt: new Date(now.getTime() + 60_000),
  txCodeHash: offerCodeHash('offer-1', '123456'),
  ...overrides,
});
const code = (error: OAuthError | undefined) => error && { status: error.status, error: error.error };

describe('preAuthorizedGrantProblem', () => {
  it('accepts an open offer with its tx_code, and one without a PIN when none is sent', () => {
    expect(preAuthorizedGrantProblem(offer(), '000000', now)).toBeUndefined();
    expect(preAuthorizedGrantProblem(offer({ txCodeHash: null }), undefined, now)).toBeUndefined();
  });

  it('refuses unknown, authorization-code, locked, used and expired offers with invalid_grant', () => {
    const invalidGrant = { status: 400, error: 'invalid_grant' };
    expect(code(preAuthorizedGrantProblem(null, '1', now))).toEqual(invalidGrant);
    expect(code(preAuthorizedGrantProblem(offer({ flow: 'authorization_code' }), '1', now))).toEqual(invalidGrant);
    expect(code(preAuthorizedGrantProblem(offer({ status: 'locked' }), '1', now))).toEqual(invalidGrant);
    expect(code(preAuthorizedGrantProblem(offer({ status: 'redeemed' }), '1', now))).toEqual(invalidGrant);
    expect(code(preAuthorizedGrantProblem(offer({ status: 'issued' }), '1', now))).toEqual(invalidGrant);
    // Expiry is inclusive: at expiresAt the offer is gone.
    expect(code(preAuthorizedGrantProblem(offer({ expiresAt: now }), '1', now))).toEqual(invalidGrant);
  });

  it('answers a missing tx_code, or one the offer does not have, with invalid_request (OID4VCI 1.0 §6.3)', () => {
    const invalidRequest = { status: 400, error: 'invalid_request' };
    expect(code(preAuthorizedGrantProblem(offer(), undefined, now))).toEqual(invalidRequest);
    expect(code(preAuthorizedGrantProblem(offer(), '', now))).toEqual(invalidRequest);
    expect(code(preAuthorizedGrantProblem(offer({ txCodeHash: null }), '123456', now))).toEqual(invalidRequest);
    expect(code(preAuthorizedGrantProblem(offer({ txCodeHash: null }), '', now))).toEqual(invalidRequest);
  });
});

describe('codeAttempt and pinAttemptError', () => {
  it('accepts a matching code while attempts are left', () => {
    expect(codeAttempt(1, true)).toEqual({ outcome: 'accepted' });
    expect(codeAttempt(5, true)).toEqual({ outcome: 'accepted' });
  });

  it('counts down wrong codes, locks on the last attempt, and refuses once none is left even with the right code', () => {
    expect([1, 2, 3, 4].map((used) => codeAttempt(used, false))).toEqual(
      [4, 3, 2, 1].map((triesLeft) => ({ outcome: 'wrong', triesLeft })),
    );
    expect(codeAttempt(5, false)).toEqual({ outcome: 'locked_now' });
    expect(codeAttempt(undefined, true)).toEqual({ outcome: 'locked' });
    expect(codeAttempt(2, false, 2)).toEqual({ outcome: 'locked_now' });
  });

  it('answers every refused attempt with invalid_grant', () => {
    for (const attempt of [{ outcome: 'wrong', triesLeft: 3 }, { outcome: 'locked_now' }, { outcome: 'locked' }] as const)
      expect(code(pinAttemptError(attempt))).toEqual({ status: 400, error: 'invalid_grant' });
  });
});

describe('offer codes and grants', () => {
  it('binds a PIN to its offer and compares it whole', () => {
    const stored = offer();
    expect(offerCodeMatches(stored, '123456')).toBe(true);
    expect(offerCodeMatches(stored, '123457')).toBe(false);
    expect(offerCodeMatches(stored, '')).toBe(false);
    expect(offerCodeMatches(stored, undefined)).toBe(false);
    expect(offerCodeMatches({ ...stored, id: 'offer-2' }, '123456')).toBe(false);
    expect(offerCodeMatches({ ...stored, txCodeHash: null }, '123456')).toBe(false);
  });

  it('puts the pre-authorized code (and the PIN description) or issuer_state in the offer', () => {
    expect(offerGrants('pre-authorized_code', 'secret', '123456')).toEqual({
      'urn:ietf:params:oauth:grant-type:pre-authorized_code': {
        'pre-authorized_code': 'secret',
        tx_code: { input_mode: 'numeric', length: 6, description: expect.any(String) },
      },
    });
    expect(offerGrants('pre-authorized_code', 'secret', undefined)).toEqual({
      'urn:ietf:params:oauth:grant-type:pre-authorized_code': { 'pre-authorized_code': 'secret' },
    });
    expect(offerGrants('authorization_code', 'state', '123456')).toEqual({ authorization_code: { issuer_state: 'state' } });
  });
});
