import type { VerificationResult } from '../credentials/index.js';
import { sharesHiddenClass } from '../../test/support/hidden-class.js';
import { UNCHALLENGED_PRESENTATION, verifyResponse } from './verify-response.js';

const result = (i: number): VerificationResult => ({
  verified: i % 2 === 0,
  checks: [
    { check: 'format', passed: true, reason: 'dc+sd-jwt' },
    i % 2 === 0 ? { check: 'status', passed: true } : { check: 'status', passed: false, reason: 'the credential is revoked' },
  ],
});

describe('verifyResponse', () => {
  it('answers 200 with the result, errors and warnings, and 400 for a failed check (VC API, Bitstring suite)', () => {
    expect(verifyResponse(result(0))).toEqual({ status: 200, body: { ...result(0), errors: [], warnings: [] } });
    const refused = verifyResponse(result(1));
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ type: 'urn:chancery:problem:status' })]);
    expect(refused.body.errors).toHaveLength(1);
  });

  it("types a status failure by the list's processing error when the status checker names one", () => {
    const type = 'https://www.w3.org/ns/credentials/status-list#STATUS_RETRIEVAL_ERROR';
    const unreachable: VerificationResult = {
      verified: false,
      checks: [{ check: 'status', passed: false, reason: 'status list could not be fetched: HTTP 404', problemType: type }],
    };
    expect(verifyResponse(unreachable).body.errors).toEqual([
      { type, title: 'status check failed', detail: 'status list could not be fetched: HTTP 404' },
    ]);
  });

  it("reports an SD-JWT presentation's failure once (its checks are its credential's)", () => {
    const checks = [{ check: 'holder_binding' as const, passed: false, reason: 'the key-binding JWT nonce does not match' }];
    const presentation = { verified: false, checks, credentials: [{ verified: false, checks }] };
    // Once, as the presentation's: no credentialIndex.
    expect(verifyResponse(presentation).body.errors).toEqual([
      {
        type: 'urn:chancery:problem:holder_binding',
        title: 'holder_binding check failed',
        detail: 'the key-binding JWT nonce does not match',
      },
    ]);
  });

  it('warns of a presentation whose holder proof was checked without a challenge, once, and only when told so', () => {
    const checks = [{ check: 'holder_binding' as const, passed: true, reason: 'did:jwk:abc' }];
    const presentation = { verified: true, checks, credentials: [{ verified: true, checks }] };
    expect(verifyResponse(presentation, { challenged: false }).body.warnings).toEqual([
      {
        type: 'urn:chancery:problem:unchallenged_presentation',
        title: 'presentation without a challenge',
        detail: UNCHALLENGED_PRESENTATION,
      },
    ]);
    expect(verifyResponse(presentation, { challenged: true }).body.warnings).toEqual([]);
    expect(verifyResponse(presentation).body.warnings).toEqual([]);
    // An unsigned presentation has its own warning, not this one.
    const unsigned = [{ check: 'holder_binding' as const, passed: true, reason: 'unsigned presentation: no holder proof' }];
    expect(verifyResponse({ verified: true, checks: unsigned, credentials: [] }, { challenged: false }).body.warnings).toEqual([
      expect.objectContaining({ type: 'urn:chancery:problem:unsigned_presentation' }),
    ]);
  });

  it('gives every body the same hidden class (ADR 33: none per request)', () => {
    expect(sharesHiddenClass((i) => verifyResponse(result(i)).body)).toBe(true);
  });
});
