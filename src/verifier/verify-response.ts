import { couldNotBeChecked, type Check, type PresentationResult, type VerificationResult } from '../credentials/index.js';
import { merged } from '../common/index.js';

/** VCDM 2.0 §7.1 problem types; checks without one get ours. */
const VCDM_PROBLEM_TYPES: Partial<Record<Check['check'], string>> = {
  format: 'https://www.w3.org/TR/vc-data-model#PARSING_ERROR',
  data_model: 'https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR',
  issuer_key: 'https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR',
  signature: 'https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR',
  disclosures: 'https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR',
  validity: 'https://www.w3.org/TR/vc-data-model#RANGE_ERROR',
};

export interface ProblemDetail {
  type: string;
  title: string;
  detail: string;
  /** Which credential of a presentation, when not the presentation itself. */
  credentialIndex?: number;
}

/** The warning of a presentation verified without a challenge (VC-API options.challenge). */
export const UNCHALLENGED_PRESENTATION =
  'no challenge was given: a copy of this presentation passes again while its holder proof is recent or unexpired';

export interface VerifyResponse {
  status: 200 | 400 | 503;
  body: Record<string, unknown>;
}

const problemOf = (check: Check, credentialIndex?: number): ProblemDetail => ({
  type: check.problemType ?? VCDM_PROBLEM_TYPES[check.check] ?? `urn:chancery:problem:${check.check}`,
  title: `${check.check} check failed`,
  detail: check.reason ?? check.check,
  ...(credentialIndex !== undefined ? { credentialIndex } : {}),
});

/**
 * The VC-API answer to a verification (ADR 12): 200 only when verified; 400 when it is not (a malformed
 * credential or a failed check alike: the VC API knows no other refusal, and the Bitstring Status List suite
 * wants 400); 503 when a check could not be made (chain or DID host unreachable), so that an outage is never
 * read as verified nor as refused. Every answer carries the same result body with `verified`, `checks`,
 * `errors` (RFC 9457-shaped problem details, VCDM 2.0 §7.1 types, which tell a malformed input from a failed
 * check) and `warnings` (an unsigned presentation; with `challenged: false`, a holder proof bound to no challenge).
 */
export function verifyResponse(
  result: VerificationResult | PresentationResult,
  options: { challenged?: boolean } = {},
): VerifyResponse {
  const nested = 'credentials' in result ? result.credentials : [];
  // An SD-JWT presentation's checks are its credential's too (one list): each failure is reported once, as the
  // presentation's.
  const presentationChecks = new Set(result.checks);
  const failed: { check: Check; index?: number }[] = [
    ...result.checks.filter((c) => !c.passed).map((check) => ({ check })),
    ...nested.flatMap((credential, index) =>
      credential.checks.filter((c) => !c.passed && !presentationChecks.has(c)).map((check) => ({ check, index })),
    ),
  ];
  // An SD-JWT presentation reports one check object as the presentation's and its credential's: warned of once.
  const holderProofs = [...new Set([...result.checks, ...nested.flatMap((c) => c.checks)])].filter(
    (c) => c.passed && c.check === 'holder_binding',
  );
  const warnings: ProblemDetail[] = holderProofs
    .filter((c) => c.reason?.startsWith('unsigned'))
    .map((c) => ({ type: 'urn:chancery:problem:unsigned_presentation', title: 'unsigned presentation', detail: c.reason! }));
  // A holder's proof checked without a challenge binds the presentation to no request: a copy of it passes too.
  // The presentation's own proof only: its credentials' holder_binding checks say whose they are, not how bound.
  const presented = result.checks.filter((c) => c.passed && c.check === 'holder_binding');
  if (options.challenged === false && presented.some((c) => !c.reason?.startsWith('unsigned')))
    warnings.push({
      type: 'urn:chancery:problem:unchallenged_presentation',
      title: 'presentation without a challenge',
      detail: UNCHALLENGED_PRESENTATION,
    });
  const errors = failed.map(({ check, index }) => problemOf(check, index));
  const status = result.verified ? 200 : couldNotBeChecked(result) ? 503 : 400;
  return { status, body: merged(result, { errors, warnings }) };
}
