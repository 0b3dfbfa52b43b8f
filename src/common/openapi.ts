import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * A zod schema as an inline OpenAPI 3.0 Schema Object (`nullable`, no `$schema`), for places that take a
 * schema rather than a zod type (a response `content` with its own media type). Schemas named with
 * `.meta({ id })` become `$ref`s that only `standardSchema` turns into components, so they are refused.
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

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (problem details: invalid_request, with violations)',
  401: 'The API key is missing or invalid (unauthorized)',
  404: 'Not found (not_found)',
  409: 'Conflict with the current state (conflict)',
  413: 'The body is too large (payload_too_large)',
  414: 'The URI or a path parameter is too long (uri_too_long)',
  429: 'Too many requests; see Retry-After (rate_limited)',
  503: 'A dependency (database or chain) is unavailable; see Retry-After',
};

/** Declares the error answers of a route: `application/problem+json` bodies with these statuses. */
export function ApiProblemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  const schema = openApiSchema(problemDetailsSchema);
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem details (RFC 9457)',
        content: { 'application/problem+json': { schema } },
      }),
    ),
  );
}
