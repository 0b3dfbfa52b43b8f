import { ApiResponse, type ApiResponseSchemaHost } from '@nestjs/swagger';
import { z } from 'zod';

type SchemaObject = ApiResponseSchemaHost['schema'];

/** A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12 without its `$schema` marker). */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _marker, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as Record<string, unknown>;
  return rest as SchemaObject;
}

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
