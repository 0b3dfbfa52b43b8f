import { ApiResponse, type ApiResponseSchemaHost } from '@nestjs/swagger';
import { z } from 'zod';

type SchemaObject = ApiResponseSchemaHost['schema'];

/**
 * A zod schema as an OpenAPI 3.0 schema object. Read as `input` so objects stay open (a response may gain
 * members without breaking clients that validate it).
 */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as SchemaObject;
}

/** An ISO 8601 timestamp, as our Date values serialise (described, not pattern-matched). */
export const timestampSchema = z.string().meta({ format: 'date-time' });
export const uuidSchema = z.string().meta({ format: 'uuid' });

/** RFC 9457 problem details, as the ProblemFilter renders them. */
const problemSchema = z.object({
  type: z.string().describe('urn:chancery:problem:<code>'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  violations: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** RFC 6749 §5.2 error JSON, as OAuth-style endpoints answer. */
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export const JsonResponse = (status: number, description: string, schema: z.ZodType) =>
  ApiResponse({ status, description, schema: openApiSchema(schema) });

/** A body of another media type (HTML, a JWT), described by its schema. */
export const MediaResponse = (status: number, description: string, mediaType: string, schema: SchemaObject) =>
  ApiResponse({ status, description, content: { [mediaType]: { schema } } });

export const ProblemResponse = (status: number, description: string) =>
  MediaResponse(status, description, 'application/problem+json', openApiSchema(problemSchema));

export const OAuthErrorResponse = (status: number, description: string) =>
  ApiResponse({ status, description, schema: openApiSchema(oauthErrorSchema) });
