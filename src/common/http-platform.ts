import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import type { Logger as PinoLogger } from 'pino';
import type { PlatformConfig } from '../config/index.js';
import { parseApiKey, bearerToken } from './api-keys.js';
import { secretsEqual } from './secrets.js';
import { limitConnectionsPerAddress } from './connections-per-address.js';
import { ProblemError } from './errors.js';
import { duplicateJsonMember, jsonBoundsProblem } from './json-bounds.js';
import { ProblemFilter, clientErrorResponse, frameworkProblemBody } from './problem.filter.js';
import { isOAuthRoute } from './oauth-routes.js';
import { httpRequestDuration, httpRequests } from './metrics.js';

const frameworkErrorFilter = new ProblemFilter();

/** Longest path parameter (a did:jwk fits); longer ones get 414 before routing. */
export const MAX_PARAM_LENGTH = 1_024;

/** `\u0000` as a JSON escape (not after an escaped backslash); a raw NUL is not valid JSON text at all. */
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/** Whether a request carries content in a coding other than identity (its Content-Encoding, a list, RFC 9110 §8.4). */
function hasContentCoding(request: FastifyRequest): boolean {
  const coding = request.headers['content-encoding'];
  if (coding === undefined) return false;
  const hasContent = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  return hasContent && coding.split(',').some((entry) => entry.trim().toLowerCase() !== 'identity');
}

/** Fastify server options: timeouts against slow clients, a connection cap, and the node http server. */
export function fastifyServerOptions(platform: PlatformConfig, bodyLimitBytes: number, publicUrl?: string) {
  const requestTimeout = platform.requestTimeoutMs;
  const publicPath = publicUrl ? new URL(publicUrl).pathname.replace(/\/$/, '') : '';
  return {
    // Behind a path (PUBLIC_URL https://host/base), wallets look for metadata where RFC 8414 §3.1 and OID4VCI 1.0
    // §12.2.2 put it, the well-known name inserted before the path: /.well-known/openid-credential-issuer/base.
    // Served as the root form, since every other route has the base path taken off by the proxy.
    rewriteUrl: (request: IncomingMessage) => wellKnownWithoutPath(request.url ?? '/', publicPath),
    bodyLimit: bodyLimitBytes,
    trustProxy: platform.trustProxy,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Idle socket, whole request (headers and body), and idle keep-alive socket.
    connectionTimeout: platform.connectionTimeoutMs,
    requestTimeout,
    keepAliveTimeout: platform.keepAliveTimeoutMs,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Malformed %-encoding and over-long parameters are refused by the router before any hook or
    // Nest handler: rendered here in the same shapes as every other error.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      frameworkErrorFilter.render(error, request, reply);
    },
    // What Node's HTTP parser refuses before Fastify sees a request (bad request line or headers, 431, 408).
    // Closed after it, as Node and Fastify do: a client that keeps sending must not keep its connection slot.
    // Nothing is written into a response already under way (a timeout of a pipelined request behind it).
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const underWay = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
      if (socket.writable && !underWay) socket.write(clientErrorResponse(error));
      socket.destroy();
    },
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
      const server = createServer(
        {
          requestTimeout,
          headersTimeout: Math.min(requestTimeout, 60_000),
          keepAliveTimeout: platform.keepAliveTimeoutMs,
          // Checked in our onRequest hook instead, so the refusal is a problem document like any other.
          requireHostHeader: false,
          // Node checks request timeouts on this interval (30 s by default, longer than short timeouts).
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeout / 2))),
        },
        handler,
      );
      // An Expect other than 100-continue (RFC 9110 §10.1.1: 417): Node would answer it with an empty 417 of its own.
      server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
        const body = frameworkProblemBody(417);
        response.writeHead(417, {
          'content-type': 'application/problem+json',
          'content-length': Buffer.byteLength(body),
          'x-content-type-options': 'nosniff',
          connection: 'close',
        });
        response.end(body);
      });
      server.maxConnections = platform.maxConnections;
      if (platform.maxConnectionsPerAddress > 0) limitConnectionsPerAddress(server, platform.maxConnectionsPerAddress);
      return server;
    },
  };
}

/** Well-known metadata names whose URL takes the issuer's path after the name (RFC 8414 §3.1). */
const PATH_INSERTED_WELL_KNOWN = ['openid-credential-issuer', 'oauth-authorization-server'];

/**
 * The wallet-login OpenID Provider's issuer is `<PUBLIC_URL>/oidc`: RFC 8414 §3.1 puts its metadata at the name
 * inserted before that path (OpenID Connect Discovery's own place, `/oidc/.well-known/openid-configuration`, is
 * where the provider serves it).
 */
const OIDC_DISCOVERY = '/oidc/.well-known/openid-configuration';

/**
 * `/.well-known/<name><publicPath>[?query]` as `/.well-known/<name>[?query]`, the OpenID Provider's
 * `/.well-known/oauth-authorization-server<publicPath>/oidc` as its discovery document; any other URL as it is.
 */
export function wellKnownWithoutPath(url: string, publicPath: string): string {
  if (!url.startsWith('/.well-known/')) return url;
  const oidcMetadata = `/.well-known/oauth-authorization-server${publicPath}/oidc`;
  if (url === oidcMetadata || url.startsWith(`${oidcMetadata}?`)) return `${OIDC_DISCOVERY}${url.slice(oidcMetadata.length)}`;
  if (!publicPath) return url;
  for (const name of PATH_INSERTED_WELL_KNOWN) {
    const inserted = `/.well-known/${name}${publicPath}`;
    if (url === inserted || url.startsWith(`${inserted}?`)) return `/.well-known/${name}${url.slice(inserted.length)}`;
  }
  return url;
}

/**
 * Browser wallets call these cross-origin: metadata, offers by reference, nonce, PAR, token, credential,
 * deferred, notification, request objects and responses, type metadata and status lists. They get
 * `Access-Control-Allow-Origin: *` without credentials; every other route sends no CORS header.
 */
const CORS_PATHS = [
  /^\/\.well-known\/[^/]+(\/.*)?$/,
  /^\/oid4vci\/(nonce|par|token|credential|deferred|notification)$/,
  /^\/oid4vci\/offers\/[^/]+$/,
  /^\/oid4vp\/requests\/[^/]+$/,
  /^\/oid4vp\/response$/,
  /^\/vct\/[^/]+$/,
  /^\/status\/[^/]+\/[^/]+$/,
];
export const isCorsPath = (path: string) => CORS_PATHS.some((pattern) => pattern.test(path));
// Conditional requests from browser verifiers (status lists, metadata) may set If-None-Match and read the ETag.
const CORS_ALLOW_HEADERS = 'authorization, content-type, dpop, if-none-match, if-modified-since';
const CORS_EXPOSE_HEADERS = 'dpop-nonce, www-authenticate, retry-after, etag, last-modified';

/** Placeholder an HTML page puts in `<script nonce="…">`; replaced by the response's CSP nonce. */
export const CSP_NONCE_PLACEHOLDER = '__CSP_NONCE__';

const pathOf = (url: string) => url.split('?')[0] ?? url;

/** Keys for the access log: the API key's public prefix or "operator", never the key. */
function keyLabel(request: FastifyRequest, operatorKey: string | undefined): string | undefined {
  const token = bearerToken(request.headers);
  if (!token) return undefined;
  const parsed = parseApiKey(token) ?? parseApiKey(token, 'rpk');
  if (parsed) return parsed.prefix;
  if (operatorKey && secretsEqual(token, operatorKey)) return 'operator';
  return 'unknown';
}

function formParser(bodyLimit: number) {
  // Async: Nest's parser runner waits for a promise (or a third `done` argument), not a plain return.
  return async (_request: FastifyRequest, body: Buffer) => {
    if (body.length > bodyLimit) throw new ProblemError(413, 'payload_too_large', 'Request body too large');
    const text = body.toString('utf8');
    const params = new URLSearchParams(text);
    const result: Record<string, string> = {};
    for (const [key, value] of params) {
      // RFC 6749 §3.1: parameters must not be included more than once.
      if (Object.hasOwn(result, key)) throw badForm(`Parameter "${safeName(key)}" is repeated`);
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw badForm('Forbidden parameter name');
      if (key.includes('\0') || value.includes('\0')) throw badForm('A parameter contains a NUL character');
      result[key] = value;
    }
    return result;
  };
}
const badForm = (detail: string) => new ProblemError(400, 'invalid_request', 'The request is invalid', detail);
const safeName = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '?').slice(0, 40);

function jsonParser(
  defaultParser: (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void,
) {
  return (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
    // An empty body labelled JSON is no body, as if it had no Content-Type (a wallet's POST to the nonce
    // endpoint, OID4VCI 1.0 §7.1, often sends the header alone): each route answers as it does without a body.
    if (body.length === 0) return done(null, undefined);
    const text = body.toString('utf8');
    defaultParser(request, text, (error, value) => {
      if (error) {
        done(new ProblemError(400, 'invalid_request', 'The request could not be parsed', 'The body is not valid JSON'));
        return;
      }
      const bounds = jsonBoundsProblem(value);
      if (bounds) return done(new ProblemError(400, 'invalid_request', 'The request is invalid', bounds));
      // No text we store may hold U+0000 (PostgreSQL refuses it; nothing legitimate needs it). An escape is a
      // backslash preceded by an even run of them: `"\\u0000"` is the six characters \u0000, not a NUL.
      if (NUL_ESCAPE.test(text)) {
        return done(new ProblemError(400, 'invalid_request', 'The request is invalid', 'The body contains a NUL character'));
      }
      const repeated = duplicateJsonMember(text);
      if (repeated !== undefined) {
        return done(new ProblemError(400, 'invalid_request', 'The request is invalid', 'The body repeats a JSON member'));
      }
      if (isOAuthRoute(request) && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        return done(new ProblemError(400, 'invalid_request', 'The request is invalid', 'The body must be an object'));
      }
      done(null, value);
    });
  };
}

/**
 * The headers a connect-style header middleware sets, recorded by running it once against a response that
 * only records: for helmet without a nonce function they depend on nothing in the request. Refuses a
 * middleware that does anything else (reads the request, ends the response, or answers later).
 */
export function recordedHeaders(
  middleware: (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`header middleware set ${name} to a non-string value`);
      headers[name.toLowerCase()] = value;
      return recorder;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  middleware(
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('header middleware read the request');
        },
      },
    ) as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error) => {
      if (error) throw error;
      finished = true;
    },
  );
  if (!finished) throw new Error('header middleware did not finish synchronously');
  return headers;
}

/**
 * Everything the HTTP platform adds to Fastify, before Nest registers its routes: body parsers that
 * refuse ambiguity, security headers with a CSP nonce, the CORS allow-list, and one access-log line
 * per request.
 */
export async function installHttpPlatform(
  app: NestFastifyApplication,
  options: { bodyLimitBytes: number; logger: PinoLogger; operatorApiKey: string | undefined },
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();

  // Fastify parses text/plain by default; no endpoint takes text, and a string body crashes the
  // OAuth libraries. Without a parser the type gets 415.
  fastify.removeContentTypeParser('text/plain');
  const defaultJson = fastify.getDefaultJsonParser('error', 'error') as unknown as Parameters<typeof jsonParser>[0];
  app.useBodyParser('application/json', { bodyLimit: options.bodyLimitBytes }, jsonParser(defaultJson) as never);
  app.useBodyParser(
    'application/x-www-form-urlencoded',
    { bodyLimit: options.bodyLimitBytes },
    formParser(options.bodyLimitBytes) as never,
  );

  // Security headers (ADR 21): what helmet sets, recorded once and added to every reply in one call.
  // @fastify/helmet called helmet(options) for every response, and even a prebuilt helmet middleware
  // runs a dozen functions per request (about 3 % of an API request's CPU) for headers that never vary.
  const securityHeaders = recordedHeaders(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          // Our pages and Swagger UI carry inline <style>; styles cannot run code.
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'frame-ancestors': ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginResourcePolicy: false,
      crossOriginEmbedderPolicy: false,
      // HSTS belongs to the TLS terminator in front of us.
      strictTransportSecurity: false,
    }),
  );

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(securityHeaders);
    (request as FastifyRequest & { startedAt?: bigint }).startedAt = process.hrtime.bigint();
    if (/%00|\0/i.test(request.url)) {
      throw new ProblemError(400, 'invalid_request', 'The request is invalid', 'The URL contains a NUL character');
    }
    // A request target has no fragment (RFC 9112 §3.2). Routers disagree on where a path ends at a '#' (Fastify cuts
    // it, the OpenID provider's router would see `/token#x` as /token while its rate limit saw another path).
    if (request.url.includes('#')) {
      throw new ProblemError(400, 'invalid_request', 'The request is invalid', 'The URL contains a fragment (#)');
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused with 400 (Node would send an empty 400 itself).
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw new ProblemError(400, 'invalid_request', 'The request is invalid', 'An HTTP/1.1 request needs a Host header');
    }
    // No route decodes a content coding: a compressed body would be parsed as if it were not (RFC 9110 §8.4.1: 415).
    if (hasContentCoding(request)) {
      throw new ProblemError(
        415,
        'unsupported_media_type',
        'Unsupported content type',
        'Request bodies are not decoded: send them without Content-Encoding',
      );
    }
    const path = pathOf(request.url);
    // Every router sees segments of at most MAX_PARAM_LENGTH, the OpenID provider's too (it has no such limit of
    // its own and answered a 3,000-character interaction id with its 404): a longer one is 414 whatever the route.
    if (path.length > MAX_PARAM_LENGTH && path.split('/').some((segment) => segment.length > MAX_PARAM_LENGTH)) {
      throw new ProblemError(414, 'uri_too_long', 'The request URI or a path parameter is too long');
    }
    if (!isCorsPath(path)) return;
    void reply.header('access-control-allow-origin', '*');
    void reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      return reply
        .status(204)
        .headers({
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        })
        .send();
    }
  });

  // Pages mark their inline scripts with the placeholder; each HTML response gets its own script nonce.
  // (Styles run no code and stay 'unsafe-inline': a nonce in style-src would make browsers ignore that.)
  fastify.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const type = reply.getHeader('content-type');
    if (typeof payload !== 'string' || typeof type !== 'string' || !type.startsWith('text/html')) return payload;
    const csp = reply.getHeader('content-security-policy');
    if (typeof csp !== 'string') return payload;
    const nonce = randomBytes(16).toString('base64');
    void reply.header('content-security-policy', csp.replace(/script-src [^;]*/, `$& 'nonce-${nonce}'`));
    return payload.replaceAll(CSP_NONCE_PLACEHOLDER, nonce);
  });

  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.routeOptions.url;
    const route = url ?? '(unmatched)';
    const started = (request as FastifyRequest & { startedAt?: bigint }).startedAt;
    const ms = started ? Number((process.hrtime.bigint() - started) / 1000n) / 1000 : undefined;
    // Route templates, not paths: ids in paths would make a series per credential.
    httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    if (ms !== undefined) httpRequestDuration.observe({ method: request.method, route }, ms / 1000);
    // Probes and scrapes come every few seconds from every balancer and orchestrator: not worth a line each.
    if (url === '/health' || url === '/health/ready' || url === '/health/live' || url === '/metrics') return;
    options.logger.info(
      {
        event: 'access',
        method: request.method,
        route,
        status: reply.statusCode,
        ms,
        key: keyLabel(request, options.operatorApiKey),
      },
      'request',
    );
  });
}
