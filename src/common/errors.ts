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

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    /** Error code exactly as the spec names it, e.g. invalid_grant, invalid_proof. */
    readonly error: string,
    readonly description?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(description ?? error);
    this.name = 'OAuthError';
  }
}
