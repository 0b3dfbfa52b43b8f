import { z } from 'zod';
import { openApiSchema, problemDetailsSchema } from './openapi.js';

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
});
