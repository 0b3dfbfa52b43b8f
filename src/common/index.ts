export {
  ProblemError,
  OAuthError,
  badRequest,
  notFound,
  conflict,
  unauthorized,
  forbidden,
  unavailable,
  chainUnavailable,
  databaseUnavailable,
  type Violation,
} from './errors.js';
export { parseOrThrow, violationsOf } from './validation.js';
export { ProblemFilter } from './problem.filter.js';
export { projectRoot } from './project-root.js';
export { randomToken, sha256Hex, secretsEqual } from './secrets.js';
export { issueApiKey, parseApiKey, bearerToken, type IssuedApiKey } from './api-keys.js';
export { OperatorGuard, OPERATOR_API_KEY } from './operator-guard.js';
export { escapeHtml } from './html.js';
export { jsonBoundsProblem, duplicateJsonMember, DEFAULT_JSON_BOUNDS, type JsonBounds } from './json-bounds.js';
export { BoundedCache, type BoundedCacheOptions } from './bounded-cache.js';
