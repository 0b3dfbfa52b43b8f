import { deferredFinishesOffer, deferredReady, deferredTransactionProblem, deniedProblem } from './deferred.js';

describe('deferred issuance (OID4VCI 1.0 §9)', () => {
  const pending = { offerId: 'o1', status: 'pending' as const };

  it('accepts a pending transaction of the token’s own offer only', () => {
    expect(deferredTransactionProblem('t', pending, 'o1')).toBeUndefined();
    expect(deferredTransactionProblem('t', pending, 'o2')?.error).toBe('invalid_transaction_id');
    expect(deferredTransactionProblem('t', { ...pending, status: 'issued' }, 'o1')?.error).toBe('invalid_transaction_id');
    expect(deferredTransactionProblem('t', null, 'o1')?.error).toBe('invalid_transaction_id');
    // No transaction_id string: a malformed request (§9.3), not an unknown transaction.
    expect(deferredTransactionProblem(7, pending, 'o1')?.error).toBe('invalid_credential_request');
    expect(deferredTransactionProblem(undefined, pending, 'o1')?.error).toBe('invalid_credential_request');
  });

  it('issues once an officer approved, and finishes the offer when every configuration was requested', () => {
    expect(deferredReady({ approval: 'pending' })).toBe(false);
    expect(deferredReady({ approval: 'approved' })).toBe(true);
    expect(deferredReady({ approval: null })).toBe(false);
    expect(deferredFinishesOffer(['a', 'b'], { issuedConfigurations: ['a'] })).toBe(false);
    expect(deferredFinishesOffer(['a', 'b'], { issuedConfigurations: ['b', 'a'] })).toBe(true);
    // A grant narrowed to one of the offer's configurations is finished by that one.
    expect(deferredFinishesOffer(['b'], { issuedConfigurations: ['b'] })).toBe(true);
  });

  it('denies the request of a rejected application with credential_request_denied (§8.3.1.2, §9.3)', () => {
    expect(deferredReady({ approval: 'rejected' })).toBe(false);
    expect(deniedProblem({ approval: 'rejected' })).toMatchObject({ status: 400, error: 'credential_request_denied' });
    expect(deniedProblem({ approval: 'pending' })).toBeUndefined();
    expect(deniedProblem({ approval: 'approved' })).toBeUndefined();
    expect(deniedProblem({ approval: null })).toBeUndefined();
  });
});
