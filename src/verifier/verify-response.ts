import {
  couldNotBeChecked,
  UNCHALLENGED_KEY_BINDING,
  type Check,
  type PresentationResult,
  type VerificationResult,
} from '../credentials/index.js';
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
 * check) and `warnings`.
 */
export function verifyResponse(result: VerificationResult | PresentationResult): VerifyResponse {
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
  const warnings: ProblemDetail[] = [...new Set([...result.checks, ...nested.flatMap((c) => c.checks)])]
    .filter((c) => c.passed && c.check === 'holder_binding' && c.reason !== undefined)
    .flatMap((c) =>
      c.reason!.startsWith('unsigned')
        ? [{ type: 'urn:chancery:problem:unsigned_presentation', title: 'unsigned presentation', detail: c.reason! }]
        : c.reason === UNCHALLENGED_KEY_BINDING
          ? [
              {
                type: 'urn:chancery:problem:unchallenged_presentation',
                title: 'presentation without a challenge',
                detail: c.reason,
              },
            ]
          : [],
    );
  const errors = failed.map(({ check, index }) => problemOf(check, index));
  const status = result.verified ? 200 : couldNotBeChecked(result) ? 503 : 400;
  return { status, body: merged(result, { errors, warnings }) };
}
