import { contractInterface } from './contracts.js';
import { actionView, revertReason } from './consortium.service.js';

describe('consortium service helpers', () => {
  it('names the custom error of a refused write from the worker’s "would revert" message', () => {
    const data = contractInterface('ConsortiumGovernance').encodeErrorResult('AlreadyVoted', ['0x' + '1'.repeat(40)]);
    expect(revertReason(`would revert: execution reverted (unknown custom error) (action="estimateGas", data="${data}")`)).toBe(
      'AlreadyVoted',
    );
    // A registry's own error, raised through the governance: "already so".
    const unchanged = contractInterface('GovernedIssuerRegistry').encodeErrorResult('AuthorisationUnchanged', [
      '0x' + '2'.repeat(40),
      '0x' + '3'.repeat(64),
      true,
    ]);
    expect(revertReason(`data="${unchanged}"`)).toBe('AuthorisationUnchanged');
    expect(revertReason('transaction reverted')).toBe('reverted');
    expect(revertReason(null)).toBe('reverted');
  });

  it('shows bigint ids as decimal strings', () => {
    expect(actionView({ kind: 'WithdrawPermission', permissionId: 12n })).toEqual({
      kind: 'WithdrawPermission',
      permissionId: '12',
    });
  });
});
