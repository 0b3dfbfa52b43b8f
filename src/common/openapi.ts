import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type ApiResponseSchemaHost } from '@nestjs/swagger';
import { z } from 'zod';
import { OAUTH_ERROR_CODES } from './errors.js';

/**
 * The one set of OpenAPI helpers: zod schemas as OpenAPI 3.0 schema objects, the shared value schemas, and
 * the response decorators of every controller (JSON bodies, other media types, problem details, OAuth errors).
 */
type SchemaObject = ApiResponseSchemaHost['schema'];

/**
 * A zod schema as an inline OpenAPI 3.0 Schema Object (`nullable`, no `$schema`), for places that take a
 * schema rather than a zod type (a response `content` with its own media type). Schemas named with
 * `.meta({ id })` become `$ref`s that only `standardSchema` turns into components, so they are refused.
 * Read as `input`, objects stay open (a response may gain members without breaking clients that validate it).
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _, ...converted } = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
  if ('definitions' in converted || '$defs' in converted) {
    throw new Error('openApiSchema: a named (meta id) schema cannot be inlined; use standardSchema instead');
  }
  return converted;
}

/** An ISO 8601 timestamp as the API writes it (`Date#toISOString`). */
export const isoTimestamp = z.string().meta({ format: 'date-time', example: '2026-11-30T09:00:00.000Z' });

/** A UUID, as our record ids are. */
export const uuidSchema = z.string().meta({ format: 'uuid' });

/** RFC 9457 problem details, as the one exception filter renders every error outside the OAuth endpoints. */
export const problemDetailsSchema = z
  .object({
    type: z.string().meta({ description: 'URI identifying the problem type; its last segment is `code`' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional().meta({ description: 'The request path' }),
    code: z.string().meta({ description: 'Stable, machine-readable code, e.g. not_found, invalid_request' }),
    violations: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Which input members were invalid (400 invalid_request)' }),
  })
  // Inlined in each response (a `content` schema cannot name a component); extensions are allowed.
  .loose();

/** OpenAPI schema of the RFC 6749 §5.2 error body the filter sends on `@OAuthErrors()` routes. */
export const OAUTH_ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', enum: [...OAUTH_ERROR_CODES] },
    error_description: { type: 'string', maxLength: 200, description: 'One line, RFC 6749 character set' },
  },
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (problem details: invalid_request, with violations)',
  401: 'The API key is missing or invalid (unauthorized)',
  404: 'Not found (not_found)',
  409: 'Conflict with the current state (conflict)',
  413: 'The body is too large (payload_too_large)',
  414: 'The URI or a path parameter is too long (uri_too_long)',
  422: 'The request is well-formed but cannot be processed (unprocessable)',
  429: 'Too many requests; see Retry-After (rate_limited)',
  503: 'A dependency (database or chain) is unavailable; see Retry-After',
};

/** A JSON body described by its zod schema. */
export const ApiJsonResponse = (status: number, description: string, schema: z.ZodType) =>
  ApiResponse({ status, description, schema: openApiSchema(schema, 'input') as SchemaObject });

/** A body of another media type (HTML, a JWT), described by its schema. */
export const ApiMediaResponse = (status: number, description: string, mediaType: string, schema: SchemaObject) =>
  ApiResponse({ status, description, content: { [mediaType]: { schema } } });

/** One problem-details answer (`application/problem+json`), with a description of when it is given. */
export const ApiProblemResponse = (status: number, description = PROBLEM_DESCRIPTIONS[status] ?? 'Problem details (RFC 9457)') =>
  ApiMediaResponse(status, description, 'application/problem+json', openApiSchema(problemDetailsSchema) as SchemaObject);

/** Declares the error answers of a route (or a controller): problem-details bodies with these statuses. */
export function ApiProblemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiProblemResponse(status)));
}

/** One OAuth error answer (RFC 6749 §5.2 JSON), with a description of when it is given. */
export const ApiOAuthErrorResponse = (status: number, description = 'OAuth 2.0 error (RFC 6749 §5.2)') =>
  ApiResponse({ status, description, schema: OAUTH_ERROR_SCHEMA as SchemaObject });
