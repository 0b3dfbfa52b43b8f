import { z } from 'zod';
import { openApiSchema, timestampSchema } from './openapi.js';
import { verdictViewSchema } from './presentations/presentation.schemas.js';

describe('openApiSchema', () => {
  it('writes OpenAPI 3.0 schemas: nullable instead of a null type, no $schema, open objects', () => {
    const schema = openApiSchema(z.object({ at: timestampSchema.nullable(), flag: z.literal(true).optional() }));
    expect(schema).toEqual({
      type: 'object',
      properties: { at: { type: 'string', format: 'date-time', nullable: true }, flag: { type: 'boolean', enum: [true] } },
      required: ['at'],
    });
  });

  it('describes the verdict poll with its status values and the optional result', () => {
    const schema = openApiSchema(verdictViewSchema) as { properties: Record<string, { enum?: string[] }>; required: string[] };
    expect(schema.properties['status']!.enum).toEqual(['pending', 'verified', 'rejected', 'expired']);
    expect(schema.required).toEqual(['id', 'status', 'completedAt']);
    expect(JSON.stringify(schema)).not.toContain('anyOf');
  });
});
