/**
 * Errors that cross module boundaries. The single exception filter renders them:
 * ProblemError as RFC 9457 problem details, OAuthError as RFC 6749 / OID4VC error JSON.
 */

/**
 * Every problem code we send (the last segment of `urn:chancery:problem:<code>`). A new code is added here,
 * so a typo or an ad-hoc code does not compile. `http_<status>` is the filter's fallback for a framework
 * status it has no name for.
 */
export const PROBLEM_CODES = [
  'invalid_request',
  'not_found',
  'conflict',
  'unauthorized',
  'forbidden',
  'unavailable',
  'chain_unavailable',
  'database_unavailable',
  'agency_not_active',
  'not_authorised_for_type',
  'credential_type_retired',
  'proposal_refused',
  'data_sharing_not_permitted',
  'approval_refused',
  'no_approval_policy',
  'idempotency_key_reused',
  'idempotency_request_in_progress',
  'rate_limited',
  'method_not_allowed',
  'request_timeout',
  'payload_too_large',
  'uri_too_long',
  'unsupported_media_type',
  'header_fields_too_large',
  'expectation_failed',
  'internal',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number] | `http_${number}`;

/**
 * The OAuth 2.0 / OpenID4VC error codes we send or pass through from the protocol library: RFC 6749 §5.2
 * and §4.1.2.1, RFC 6750 §3.1, RFC 9449 §7 (DPoP), RFC 9396 §5 (authorization_details), RFC 9101 (request
 * objects), OID4VCI 1.0 §8.3.1, §9.3 and §11.3, OID4VP 1.0 §8.5 and the library's own extensions.
 */
export const OAUTH_ERROR_CODES = [
  // RFC 6749
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  // RFC 6750, RFC 8707, RFC 9449, RFC 9396, RFC 9101
  'invalid_token',
  'insufficient_scope',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'invalid_authorization_details',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  // OID4VCI 1.0
  'invalid_credential_request',
  'unknown_credential_configuration',
  'unknown_credential_identifier',
  'unsupported_credential_type',
  'unsupported_credential_format',
  'invalid_proof',
  'invalid_nonce',
  'invalid_encryption_parameters',
  'credential_request_denied',
  'invalid_transaction_id',
  'invalid_notification_id',
  'invalid_notification_request',
  // OID4VP 1.0
  'vp_formats_not_supported',
  'invalid_request_uri_method',
  'invalid_transaction_data',
  'wallet_unavailable',
  'invalid_presentation_definition_uri',
  'invalid_presentation_definition_reference',
  // First-party / interactive flows (@openid4vc/oauth2)
  'redirect_to_web',
  'invalid_session',
  'insufficient_authorization',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

const OAUTH_ERROR_CODE_SET: ReadonlySet<string> = new Set(OAUTH_ERROR_CODES);
export const isOAuthErrorCode = (code: unknown): code is OAuthErrorCode =>
  typeof code === 'string' && OAUTH_ERROR_CODE_SET.has(code);

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    /** Stable, machine-readable code; also the last segment of the problem type URI. */
    readonly code: ProblemCode,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    /** Seconds for a Retry-After header (503 and 429 answers). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }
}

export interface Violation {
  path: string;
  message: string;
}

export const badRequest = (detail: string, violations?: Violation[]) =>
  new ProblemError(400, 'invalid_request', 'The request is invalid', detail, violations ? { violations } : {});
export const notFound = (detail: string) => new ProblemError(404, 'not_found', 'Not found', detail);
export const conflict = (detail: string) => new ProblemError(409, 'conflict', 'Conflict', detail);
export const unauthorized = (detail: string) => new ProblemError(401, 'unauthorized', 'Authentication required', detail);
export const forbidden = (detail: string) => new ProblemError(403, 'forbidden', 'Forbidden', detail);
export const unavailable = (detail: string) => new ProblemError(503, 'unavailable', 'A dependency is unavailable', detail, {}, 5);
/** The chain node cannot be reached (refused, reset, timed out); the client may retry. */
export const chainUnavailable = (detail = 'The chain node cannot be reached') =>
  new ProblemError(503, 'chain_unavailable', 'The chain is unavailable', detail, {}, 5);
/** The database cannot be reached (or could not serve this request now); the client may retry. */
export const databaseUnavailable = (detail = 'The database cannot be reached', retryAfterSeconds = 5) =>
  new ProblemError(503, 'database_unavailable', 'The database is unavailable', detail, {}, retryAfterSeconds);

/** Longest error_description we send; longer texts are cut (with an ellipsis). */
export const MAX_ERROR_DESCRIPTION_LENGTH = 200;

/**
 * One line of text within RFC 6749 §5.2's error_description character set (%x20-21 / %x23-5B / %x5D-7E):
 * control characters, line breaks, `"`, `\` and anything outside printable ASCII become spaces, runs of
 * spaces collapse, and the text is bounded. Safe inside a quoted-string of a WWW-Authenticate challenge.
 */
export function safeErrorDescription(text: unknown, fallback = 'The request is invalid'): string {
  const raw = typeof text === 'string' ? text : '';
  let clean = raw
    .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (!clean) clean = fallback;
  if (clean.length > MAX_ERROR_DESCRIPTION_LENGTH) clean = `${clean.slice(0, MAX_ERROR_DESCRIPTION_LENGTH - 3).trimEnd()}...`;
  return clean;
}

export class OAuthError extends Error {
  /** Always one safe line (see safeErrorDescription), whoever built the error. */
  readonly description?: string;

  constructor(
    readonly status: number,
    /** Error code exactly as the spec names it, e.g. invalid_grant, invalid_proof. */
    readonly error: OAuthErrorCode,
    description?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(description ?? error);
    this.name = 'OAuthError';
    this.description = description === undefined ? undefined : safeErrorDescription(description);
  }
}
