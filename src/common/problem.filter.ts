import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, ProblemError } from './errors.js';

const PROBLEM_BASE = 'urn:chancery:problem:';
/** Endpoints whose clients speak OAuth 2.0 / OID4VC; their errors are RFC 6749 JSON. */
const OAUTH_PATHS =
  /^\/oid4vci\/(token|credential|deferred|nonce|notification|par|authorize)$|^\/oid4vp\/(response|requests\/[^/]+)$/;

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  [extension: string]: unknown;
}

/** The one exception filter: no stack trace or internal message ever reaches a client. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();

    if (exception instanceof OAuthError) {
      void reply
        .status(exception.status)
        .headers({ 'cache-control': 'no-store', ...exception.headers })
        .type('application/json')
        .send({ error: exception.error, error_description: exception.description, ...exception.extra });
      return;
    }

    if (exception instanceof ProblemError && exception.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(exception.retryAfterSeconds));
    }
    const problem = this.toProblem(exception);
    problem.instance = request.url.split('?')[0];
    if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
    }
    if (OAUTH_PATHS.test(problem.instance)) {
      // OAuth clients (wallets) understand RFC 6749 error JSON only, whatever went wrong.
      const error = problem.status >= 500 ? 'server_error' : problem.status === 401 ? 'invalid_token' : 'invalid_request';
      void reply
        .status(problem.status)
        .headers({ 'cache-control': 'no-store' })
        .type('application/json')
        .send({ error, error_description: problem.status >= 500 ? 'Internal error' : (problem.detail ?? problem.title) });
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
      const code =
        status === 404
          ? 'not_found'
          : status === 413
            ? 'payload_too_large'
            : status === 400
              ? 'invalid_request'
              : `http_${status}`;
      return { type: PROBLEM_BASE + code, title: exception.message, status, code };
    }
    // Fastify raises its own errors (body too large, malformed JSON, bad content type) with a statusCode.
    const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const code = fastifyStatus === 413 ? 'payload_too_large' : 'invalid_request';
      return {
        type: PROBLEM_BASE + code,
        title: fastifyStatus === 413 ? 'Request body too large' : 'The request could not be parsed',
        status: fastifyStatus,
        detail: (exception as Error).message,
        code,
      };
    }
    return { type: PROBLEM_BASE + 'internal', title: 'Internal server error', status: 500, code: 'internal' };
  }
}
