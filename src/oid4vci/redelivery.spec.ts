import { redeliveryStep, type IssuedTransaction } from './redelivery.js';

describe('re-delivery of an issued deferred response (ADR 18)', () => {
  const now = new Date('2026-12-03T08:00:00Z');
  const issued: IssuedTransaction = {
    offerId: 'o1',
    status: 'issued',
    sealed: true,
    redeliverUntil: new Date('2026-12-03T09:00:00Z'),
    holderJkt: 'k1',
  };

  it('delivers again to the same holder of the same offer while the copy is kept', () => {
    expect(redeliveryStep(issued, 'o1', 'k1', now)).toBe('deliver');
    expect(redeliveryStep({ ...issued, holderJkt: null }, 'o1', undefined, now)).toBe('deliver');
  });

  it('is invalid_transaction_id for another offer, another key, after the window or the notification', () => {
    const refused = (transaction: IssuedTransaction, offerId = 'o1', jkt: string | undefined = 'k1') =>
      (redeliveryStep(transaction, offerId, jkt, now) as { error?: string }).error;
    expect(refused(issued, 'o2')).toBe('invalid_transaction_id');
    expect(refused(issued, 'o1', 'k2')).toBe('invalid_transaction_id');
    expect(redeliveryStep(issued, 'o1', undefined, now)).toMatchObject({ error: 'invalid_transaction_id' });
    expect(refused({ ...issued, holderJkt: null }, 'o1', 'k1')).toBe('invalid_transaction_id');
    expect(refused({ ...issued, redeliverUntil: now })).toBe('invalid_transaction_id');
    expect(refused({ ...issued, sealed: false, redeliverUntil: null })).toBe('invalid_transaction_id');
    expect(refused({ ...issued, sealed: false })).toBe('invalid_transaction_id');
    expect(refused({ ...issued, status: 'pending' })).toBe('invalid_transaction_id');
  });
});
