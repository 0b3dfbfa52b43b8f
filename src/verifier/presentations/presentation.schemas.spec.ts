import { openApiSchema } from '../../common/index.js';
import { verdictViewSchema } from './presentation.schemas.js';

describe('presentation response schemas (OpenAPI)', () => {
  it('describes the verdict poll with its status values, the optional result and a nullable timestamp', () => {
    const schema = openApiSchema(verdictViewSchema, 'input') as {
      properties: Record<string, { enum?: string[]; format?: string; nullable?: boolean }>;
      required: string[];
    };
    expect(schema.properties['status']!.enum).toEqual(['pending', 'verified', 'rejected', 'expired']);
    expect(schema.required).toEqual(['id', 'status', 'completedAt']);
    expect(schema.properties['completedAt']).toMatchObject({ type: 'string', format: 'date-time', nullable: true });
    expect(JSON.stringify(schema)).not.toContain('anyOf');
  });
});
