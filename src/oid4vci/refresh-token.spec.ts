import {
  issuesRefreshToken,
  refreshBindingProblem,
  refreshClientProblem,
  refreshFamilyExpiry,
  refreshGrantProblem,
  refreshScopeProblem,
} from './refresh-token.js';

describe('refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2, RFC 9449 §5)', () => {
  const now = new Date('2026-12-03T08:00:00Z');
  const later = new Date('2026-12-04T08:00:00Z');
  const active = { status: 'active' as const, offerId: 'o1', expiresAt: later };
  const offer = { status: 'redeemed', approval: 'pending' as const };

  it('is issued only where issuance can be deferred', () => {
    expect(issuesRefreshToken({ approval: 'pending' })).toBe(true);
    expect(issuesRefreshToken({ approval: 'approved' })).toBe(true);
    expect(issuesRefreshToken({ approval: null })).toBe(false);
    expect(issuesRefreshToken({ approval: 'rejected' })).toBe(false);
  });

  it('ends at the configured maximum or the offer’s expiry, whichever is first', () => {
    expect(refreshFamilyExpiry(now, 3600, later)).toEqual(new Date('2026-12-03T09:00:00Z'));
    expect(refreshFamilyExpiry(now, 7 * 86_400, later)).toEqual(later);
  });

  it('refuses unknown, revoked, expired and ended grants; a rotated or replaced token revokes its family', () => {
    expect(refreshGrantProblem(active, offer, now)).toBeUndefined();
    expect(refreshGrantProblem(active, { status: 'issued', approval: 'approved' }, now)).toBeUndefined();
    expect(refreshGrantProblem(null, offer, now)).toMatchObject({ revokeFamily: false, problem: { error: 'invalid_grant' } });
    expect(refreshGrantProblem({ ...active, status: 'rotated' }, offer, now)).toMatchObject({
      revokeFamily: true,
      problem: { error: 'invalid_grant' },
    });
    expect(refreshGrantProblem({ ...active, status: 'replaced' }, offer, now)).toMatchObject({
      revokeFamily: true,
      problem: { error: 'invalid_grant' },
    });
    expect(refreshGrantProblem({ ...active, status: 'revoked' }, offer, now)?.revokeFamily).toBe(false);
    expect(refreshGrantProblem({ ...active, expiresAt: now }, offer, now)?.problem.error).toBe('invalid_grant');
    expect(refreshGrantProblem(active, null, now)?.problem.error).toBe('invalid_grant');
    expect(refreshGrantProblem(active, { status: 'locked', approval: 'pending' }, now)?.problem.error).toBe('invalid_grant');
    expect(refreshGrantProblem(active, { status: 'redeemed', approval: 'rejected' }, now)?.problem.error).toBe('invalid_grant');
  });

  it('keeps the family’s DPoP binding', () => {
    expect(refreshBindingProblem('k1', 'k1')).toBeUndefined();
    expect(refreshBindingProblem(null, undefined)).toBeUndefined();
    expect(refreshBindingProblem('k1', 'k2')?.error).toBe('invalid_grant');
    expect(refreshBindingProblem('k1', undefined)?.error).toBe('invalid_grant');
    expect(refreshBindingProblem(null, 'k1')?.error).toBe('invalid_dpop_proof');
  });

  it('is refreshed only by the client it was issued to, which names itself (RFC 6749 §4.1.3, §6)', () => {
    expect(refreshClientProblem('wallet-a', 'wallet-a')).toBeUndefined();
    expect(refreshClientProblem('wallet-a', undefined)).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(refreshClientProblem('wallet-a', 'wallet-b')).toMatchObject({ status: 400, error: 'invalid_grant' });
    // A grant made to no named client (anonymous pre-authorized code) takes any.
    expect(refreshClientProblem(null, 'wallet-b')).toBeUndefined();
    expect(refreshClientProblem(null, undefined)).toBeUndefined();
  });

  it('accepts the original scope or less, never more', () => {
    const granted = ['driving-licence'];
    expect(refreshScopeProblem(undefined, granted)).toBeUndefined();
    expect(refreshScopeProblem('driving-licence', granted)).toBeUndefined();
    expect(refreshScopeProblem('', granted)).toBeUndefined();
    expect(refreshScopeProblem('driving-licence business-licence', granted)?.error).toBe('invalid_scope');
    expect(refreshScopeProblem(['driving-licence'], granted)?.error).toBe('invalid_request');
  });
});
