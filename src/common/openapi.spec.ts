import { z } from 'zod';
import { isoTimestamp, openApiSchema, problemDetailsSchema } from './openapi.js';

describe('OpenAPI schemas from zod', () => {
  it('gives an OpenAPI 3.0 schema: nullable instead of a null type, no $schema', () => {
    const schema = openApiSchema(z.object({ kid: z.string().nullable() }));
    expect(schema).not.toHaveProperty('$schema');
    expect(schema).toMatchObject({ type: 'object', properties: { kid: { type: 'string', nullable: true } }, required: ['kid'] });
  });

  it('refuses a named schema, which would become a reference nothing resolves', () => {
    expect(() => openApiSchema(z.object({ a: z.string() }).meta({ id: 'Named' }))).toThrow('standardSchema');
  });

  it('describes problem details as the filter renders them, extensions allowed', () => {
    const problem = { type: 'https://chancery.example/problems/not_found', title: 'Not found', status: 404, code: 'not_found' };
    expect(problemDetailsSchema.parse({ ...problem, instance: '/agency', retryAfter: 5 })).toMatchObject(problem);
    expect(problemDetailsSchema.safeParse({ title: 'Not found', status: 404 }).success).toBe(false);
  });

  it('reads a schema as input on request: open objects, optional members not required', () => {
    const schema = openApiSchema(z.object({ at: isoTimestamp.nullable(), flag: z.literal(true).optional() }), 'input');
    expect(schema).toEqual({
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time', example: '2026-11-30T09:00:00.000Z', nullable: true },
        flag: { type: 'boolean', enum: [true] },
      },
      required: ['at'],
    });
  });
});
