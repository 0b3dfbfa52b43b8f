import { Injectable, RequestMethod, SetMetadata, applyDecorators, type OnModuleInit } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OAuthErrorCode } from './errors.js';
import { ApiOAuthErrorResponse } from './openapi.js';

const OAUTH_ERRORS = 'chancery:oauth-errors';

export interface OAuthErrorsOptions {
  /** The code of a 400 that is not an OAuthError (a framework or parse error), e.g. invalid_credential_request. */
  badRequest?: OAuthErrorCode;
  /** Error statuses the OpenAPI document lists for the route(s), all with the OAuth error body. */
  statuses?: readonly number[];
}

/** OpenAPI extension naming an operation's error shape, so clients (and the fuzz test) know it. */
export const ERROR_FORMAT_EXTENSION = 'x-error-format';

/**
 * Declares that a controller's (or one handler's) clients speak OAuth 2.0 / OpenID4VC: the exception filter
 * answers every error of these routes as RFC 6749 error JSON, including errors raised before the handler
 * runs (body too large, malformed JSON, unsupported content type). All other routes answer RFC 9457.
 * The OpenAPI document marks the operations (`x-error-format: oauth`) and lists `statuses` with the body.
 */
export function OAuthErrors(options: OAuthErrorsOptions = {}): ClassDecorator & MethodDecorator {
  const statuses = options.statuses ?? [400];
  return applyDecorators(
    SetMetadata(OAUTH_ERRORS, options),
    ApiExtension(ERROR_FORMAT_EXTENSION, 'oauth'),
    ...statuses.map((status) => ApiOAuthErrorResponse(status)),
  ) as ClassDecorator & MethodDecorator;
}

/**
 * Unknown documents under /.well-known/ are asked for by OAuth and OID4VC clients during discovery
 * (RFC 8414 §3, OID4VCI 1.0 §12.2.2), so a miss there answers OAuth JSON too.
 */
const DISCOVERY_PREFIX = '/.well-known/';

interface OAuthRoute {
  method: string;
  url: string;
  options: OAuthErrorsOptions;
  pattern: RegExp;
}

/** The decorated routes of each running app, by its Fastify instance (tests run several apps in one process). */
const routesByServer = new WeakMap<object, ReadonlyMap<string, OAuthRoute>>();

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A Fastify route template as a path matcher: `:param` stands for one path segment. */
const templatePattern = (url: string) =>
  new RegExp(
    `^${url
      .split(/(:[A-Za-z0-9_]+)/)
      .map((part, i) => (i % 2 ? '[^/]+' : escapeRegExp(part)))
      .join('')}$`,
  );

const joinPath = (...parts: string[]) =>
  `/${parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/')}`;

/**
 * Collects the routes marked with `@OAuthErrors()` once the router is built (Nest calls onModuleInit after
 * registering routes), checks each against Fastify's router, and makes them known to the exception filter
 * and the body parsers of this app.
 */
@Injectable()
export class OAuthRouteRegistry implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const routes = new Map<string, OAuthRoute>();
    const add = (method: string, url: string, options: OAuthErrorsOptions) =>
      routes.set(`${method} ${url}`, { method, url, options, pattern: templatePattern(url) });

    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
      if (!controller || !wrapper.instance) continue;
      const prefixes = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, (...args: unknown[]) => unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name]!;
        const options = this.reflector.getAllAndOverride<OAuthErrorsOptions | undefined>(OAUTH_ERRORS, [handler, controller]);
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (!options || method === undefined) continue;
        const paths = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        for (const prefix of prefixes) for (const path of paths) add(RequestMethod[method], joinPath(prefix, path), options);
      }
    }
    // A template that is not the router's (a global prefix, a typo in the join) would silently fall back to
    // problem details: refuse to start instead.
    for (const route of routes.values()) {
      if (!fastify.hasRoute({ method: route.method as 'GET', url: route.url }))
        throw new Error(`@OAuthErrors route ${route.method} ${route.url} is not registered with that template`);
    }
    routesByServer.set(fastify, routes);
  }
}

/**
 * The OAuth error options of the route a request is for, or undefined when it answers problem details.
 * A matched request is looked up by its route template; a request the router did not match (404, a path
 * parameter it could not decode) by its path against the decorated templates, of any method.
 */
export function oauthErrorsFor(request: FastifyRequest): OAuthErrorsOptions | undefined {
  const routes = routesByServer.get(request.server);
  const template = request.routeOptions?.url;
  if (routes && template !== undefined) {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    return routes.get(`${method} ${template}`)?.options;
  }
  const path = (request.url ?? '').split('?')[0] ?? '';
  if (routes) {
    for (const route of routes.values()) if (route.pattern.test(path)) return route.options;
  }
  return path.startsWith(DISCOVERY_PREFIX) ? {} : undefined;
}

export const isOAuthRoute = (request: FastifyRequest): boolean => oauthErrorsFor(request) !== undefined;
