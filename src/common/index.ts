export {
  ProblemError,
  OAuthError,
  safeErrorDescription,
  MAX_ERROR_DESCRIPTION_LENGTH,
  badRequest,
  notFound,
  conflict,
  unauthorized,
  forbidden,
  unavailable,
  chainUnavailable,
  databaseUnavailable,
  isOAuthErrorCode,
  OAUTH_ERROR_CODES,
  PROBLEM_CODES,
  type OAuthErrorCode,
  type ProblemCode,
  type Violation,
} from './errors.js';
export {
  OAuthErrors,
  OAuthRouteRegistry,
  ERROR_FORMAT_EXTENSION,
  oauthErrorsFor,
  isOAuthRoute,
  type OAuthErrorsOptions,
} from './oauth-routes.js';
export { parseOrThrow, violationsOf } from './validation.js';
export { ProblemFilter } from './problem.filter.js';
export { projectRoot } from './project-root.js';
export { randomToken, sha256Hex, secretsEqual } from './secrets.js';
export { issueApiKey, parseApiKey, bearerToken, bearerCredentials, type IssuedApiKey } from './api-keys.js';
export { OperatorGuard, OPERATOR_API_KEY } from './operator-guard.js';
export { escapeHtml } from './html.js';
export { base64urlText } from './base64url.js';
export {
  jsonBoundsProblem,
  duplicateJsonMember,
  hasPrototypeMember,
  untrustedText,
  DEFAULT_JSON_BOUNDS,
  type JsonBounds,
} from './json-bounds.js';
export { DatabaseOutage, isDatabaseConnectivityError, isStatementTimeout, isTransientConflict } from './database-outage.js';
export { PinoNestLogger, createRootLogger, REDACTED_LOG_PATHS } from './logger.js';
export {
  RateLimitGuard,
  RATE_LIMITED_ROUTES,
  RATE_LIMIT_OPTIONS,
  THROTTLER_STORAGE,
  createThrottlerStorage,
  pollIntervalMs,
  MemoryThrottlerStorage,
  RedisThrottlerStorage,
  type RateLimitOptions,
} from './rate-limit.js';
export { installHttpPlatform, fastifyServerOptions, isCorsPath, CSP_NONCE_PLACEHOLDER } from './http-platform.js';
export { PlatformModule } from './platform.module.js';
export { BackgroundJob, forEachIsolated, isChainUnreachable } from './background-job.js';
export { connectionAddressKey } from './connections-per-address.js';
export { EventLoopLoad, eventLoopLoad } from './event-loop-load.js';
export { BoundedCache, type BoundedCacheOptions } from './bounded-cache.js';
export { SingleFlight } from './single-flight.js';
export { merged } from './merged.js';
export { entityTagOf, ifNoneMatchHits } from './conditional-get.js';
export { serveOpenApiJson } from './openapi-document.js';
export { POLL_ANSWER_SCRIPT } from './page-poll.js';
export { ADDRESS_PATTERN, ethereumAddressSchema, isEthereumAddress } from './ethereum-address.js';
export { addressProblem, isPublicAddress, NotPublicAddress, publicOnlyLookup } from './public-address.js';
export {
  ApiJsonResponse,
  ApiMediaResponse,
  ApiOAuthErrorResponse,
  ApiProblemResponse,
  ApiProblemResponses,
  OAUTH_ERROR_SCHEMA,
  openApiSchema,
  problemDetailsSchema,
  isoTimestamp,
  uuidSchema,
} from './openapi.js';
export { untilReachable, worthLogging } from './until-reachable.js';
export { drainHttp } from './drain-http.js';
export { readCapped } from './read-capped.js';
export { boundedGet, BoundedGetTimeout, isUnresolvableHost, privateHostListed, type BoundedResponse } from './bounded-get.js';
export {
  metricsRegistry,
  httpRequests,
  httpRequestDuration,
  backgroundJobRounds,
  backgroundJobLastSuccess,
  chainHeadBlock,
  chainLastPoll,
  webhookDeliveries,
  serveClusterMetrics,
  clusterMetricsText,
} from './metrics.js';
