import {
  Catch,
  HttpException,
  Logger,
  NotFoundException,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  OAuthError,
  ProblemError,
  chainUnavailable,
  databaseUnavailable,
  safeErrorDescription,
  type OAuthErrorCode,
  type ProblemCode,
} from './errors.js';
import {
  DatabaseOutage,
  databaseClientErrorStatus,
  isDatabaseConnectivityError,
  isTransientConflict,
} from './database-outage.js';
import { oauthErrorsFor, type OAuthErrorsOptions } from './oauth-routes.js';
// src/chain's ChainUnavailableError, known by its code (common sits below chain and cannot import it).
import { isChainUnreachable } from './background-job.js';

const PROBLEM_BASE = 'urn:chancery:problem:';

/** Fastify's and Node's own client errors, with our safe wording (never the library's message). */
const FRAMEWORK_ERRORS: Record<number, { code: ProblemCode; title: string }> = {
  400: { code: 'invalid_request', title: 'The request could not be parsed' },
  404: { code: 'not_found', title: 'Not found' },
  405: { code: 'method_not_allowed', title: 'Method not allowed' },
  408: { code: 'request_timeout', title: 'The request took too long' },
  413: { code: 'payload_too_large', title: 'Request body too large' },
  414: { code: 'uri_too_long', title: 'The request URI or a path parameter is too long' },
  415: { code: 'unsupported_media_type', title: 'Unsupported content type' },
  417: { code: 'expectation_failed', title: 'The Expect header names an expectation this server does not meet' },
  431: { code: 'header_fields_too_large', title: 'Request header fields too large' },
};

/** The problem document of a refusal made before any route saw the request (no route: no OAuth shape either). */
export function frameworkProblemBody(status: keyof typeof FRAMEWORK_ERRORS): string {
  const known = FRAMEWORK_ERRORS[status]!;
  return JSON.stringify({ type: PROBLEM_BASE + known.code, title: known.title, status, code: known.code });
}

/**
 * The raw HTTP response to a request Node's parser refused before any route saw it (malformed request line or
 * headers, headers over the size limit, a request timeout): a problem document like every other refusal, not
 * Fastify's default JSON. No route is known yet, so no OAuth shape either; the connection is closed after it.
 */
export function clientErrorResponse(error: { code?: string }): string {
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = frameworkProblemBody(status);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** oidc-provider's temporarily_unavailable (src/citizens/login raises it for a database outage): no stack, a 503. */
const isProviderUnavailable = (exception: unknown): boolean =>
  exception instanceof Error &&
  (exception as { statusCode?: unknown }).statusCode === 503 &&
  (exception as { error?: unknown }).error === 'temporarily_unavailable';

/**
 * The methods the request's path has routes for (Fastify's router, as it would match them). A wildcard route
 * (the OpenID Provider's `/oidc/*`) says nothing about one path's methods, so it names none; nor does a match with
 * an empty parameter (`/vct/` against `/vct/:id`), which names no resource: the request's own method was not
 * routed there either.
 */
function allowedMethods(request: FastifyRequest): string[] {
  const url = request.url.split('?')[0] ?? '/';
  return METHODS.filter((method) => {
    if (method === request.method) return false;
    const route = request.server.findRoute({ method, url });
    return route !== null && !('*' in route.params) && !Object.values(route.params).includes('');
  });
}

/**
 * RFC 6749 / OID4VCI error codes for a status, on OAuth routes. A request the route cannot read (400, a body too
 * large 413, of a type it does not take 415) gets the code the route declares: OID4VCI 1.0 §8.3.1.2 wants its own
 * codes "instead of the generic invalid_request" for errors of the request's payload.
 */
const oauthErrorCode = (status: number, route: OAuthErrorsOptions): OAuthErrorCode =>
  (status === 400 || status === 413 || status === 415) && route.badRequest
    ? route.badRequest
    : status === 503
      ? 'temporarily_unavailable'
      : status >= 500
        ? 'server_error'
        : status === 401
          ? 'invalid_token'
          : 'invalid_request';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ProblemCode;
  [extension: string]: unknown;
}

/** The one exception filter: no stack trace or internal message ever reaches a client. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  constructor(@Optional() private readonly outage?: DatabaseOutage) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.render(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /** Also used by Fastify's `frameworkErrors` (bad URL, over-long parameter), which run before Nest. */
  render(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    if (exception instanceof OAuthError) {
      void reply
        .status(exception.status)
        .headers({ 'cache-control': 'no-store', ...exception.headers })
        .type('application/json')
        .send({ error: exception.error, error_description: exception.description, ...exception.extra });
      return;
    }

    if (isProviderUnavailable(exception)) {
      // The OpenID Provider's own error for a database outage it met (its storage guard reported the outage once):
      // the same 503 wherever it surfaces, on the provider's routes or ours that call into it.
      exception = databaseUnavailable();
    }
    if (!(exception instanceof ProblemError) && !(exception instanceof HttpException) && isTransientConflict(exception)) {
      // A deadlock's victim or a serialization failure: the same request again succeeds; no outage, no stack.
      exception = databaseUnavailable('A concurrent request held the same records; retry', 1);
    }
    if (!(exception instanceof ProblemError) && !(exception instanceof HttpException) && isDatabaseConnectivityError(exception)) {
      // One log line per outage (DatabaseOutage), not a stack per request.
      this.outage?.reportDown(exception);
      exception = databaseUnavailable();
    }
    if (!(exception instanceof ProblemError) && !(exception instanceof HttpException) && isChainUnreachable(exception)) {
      // src/chain's ChainUnavailableError (its message holds no library text): a 503 wherever it was not caught.
      exception = chainUnavailable();
    }
    const clientStatus =
      exception instanceof ProblemError || exception instanceof HttpException ? undefined : databaseClientErrorStatus(exception);
    if (clientStatus === 409) {
      exception = new ProblemError(
        409,
        'conflict',
        'Conflict',
        'A concurrent request created or changed the same resource; retry',
      );
    } else if (clientStatus === 400) {
      exception = new ProblemError(
        400,
        'invalid_request',
        'The request is invalid',
        'A value is too long or contains a character that cannot be stored',
      );
    }
    if (exception instanceof NotFoundException && request.routeOptions.url === undefined) {
      // No route for this method: when the path has routes for others, 405 naming them (RFC 9110 §15.5.6).
      const allowed = allowedMethods(request);
      if (allowed.length > 0) {
        void reply.header('allow', allowed.join(', '));
        exception = new ProblemError(405, 'method_not_allowed', 'Method not allowed', `Allowed: ${allowed.join(', ')}`);
      }
    }
    if (exception instanceof ProblemError && exception.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(exception.retryAfterSeconds));
    }
    const problem = this.toProblem(exception);
    problem.instance = request.url.split('?')[0];
    if (problem.status >= 500 && !(exception instanceof ProblemError)) {
      this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
    }
    const oauthRoute = oauthErrorsFor(request);
    if (oauthRoute) {
      // OAuth clients (wallets) understand RFC 6749 error JSON only, whatever went wrong.
      const error = oauthErrorCode(problem.status, oauthRoute);
      const description = safeErrorDescription(
        problem.status === 503 ? problem.title : problem.status >= 500 ? 'Internal error' : (problem.detail ?? problem.title),
      );
      void reply
        .status(problem.status)
        .headers({ 'cache-control': 'no-store' })
        .type('application/json')
        .send({ error, error_description: description });
      return;
    }
    void reply.status(problem.status).type('application/problem+json').send(problem);
  }

  private toProblem(exception: unknown): ProblemBody {
    if (exception instanceof ProblemError) {
      return {
        type: PROBLEM_BASE + exception.code,
        title: exception.title,
        status: exception.status,
        detail: exception.detail,
        code: exception.code,
        ...exception.extensions,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const known = FRAMEWORK_ERRORS[status];
      const code: ProblemCode = known?.code ?? (status === 429 ? 'rate_limited' : `http_${status}`);
      // Nest's router says "Cannot GET /path"; pipes and our own throws carry a safe one-line message.
      const detail = status === 404 ? undefined : exception.message.split('\n')[0]?.slice(0, 200);
      return { type: PROBLEM_BASE + code, title: known?.title ?? 'Request refused', status, code, detail };
    }
    // Fastify raises its own errors (body too large, malformed JSON, bad content type, bad URL,
    // over-long parameter) with a statusCode; their messages are the library's, so not sent.
    const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const known = FRAMEWORK_ERRORS[fastifyStatus] ?? FRAMEWORK_ERRORS[400]!;
      return { type: PROBLEM_BASE + known.code, title: known.title, status: fastifyStatus, code: known.code };
    }
    return { type: PROBLEM_BASE + 'internal', title: 'Internal server error', status: 500, code: 'internal' };
  }
}
