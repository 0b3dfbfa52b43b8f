import { credentialShown } from './presentation-audit.js';

describe('credentialShown', () => {
  it('is true when a presentation carried an issuer signature that verified, whatever else failed', () => {
    const signed = {
      queryId: 'dl',
      checks: [
        { check: 'signature' as const, passed: true },
        { check: 'status' as const, passed: false },
      ],
    };
    const forged = { queryId: 'dl', checks: [{ check: 'signature' as const, passed: false }] };
    expect(credentialShown({ verified: false, credentials: [forged, signed] })).toBe(true);
    expect(credentialShown({ verified: false, credentials: [forged] })).toBe(false);
    expect(credentialShown({ verified: false, reason: 'wallet answered access_denied', credentials: [] })).toBe(false);
    expect(credentialShown({ verified: false, credentials: [{ queryId: 'dl' }] })).toBe(false);
  });
});
