/**
 * Errors that cross module boundaries. The single exception filter renders them:
 * ProblemError as RFC 9457 problem details, OAuthError as RFC 6749 / OID4VC error JSON.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    /** Stable, machine-readable code; also the last segment of the problem type URI. */
    readonly code: string,
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
/** The database cannot be reached; the client may retry. */
export const databaseUnavailable = (detail = 'The database cannot be reached') =>
  new ProblemError(503, 'database_unavailable', 'The database is unavailable', detail, {}, 5);

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
    readonly error: string,
    description?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(description ?? error);
    this.name = 'OAuthError';
    this.description = description === undefined ? undefined : safeErrorDescription(description);
  }
}
