import { readFileSync, writeFileSync } from 'node:fs';
import { startTestApp, type TestApp } from './support/test-app.js';

const COMMITTED = new URL('../docs/openapi.json', import.meta.url);

/**
 * The API contract is committed as docs/openapi.json, generated from the code. This test fails when the
 * code's document drifts from the committed one; `npm run openapi` writes the new one for review.
 */
describe('OpenAPI document', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('matches docs/openapi.json', async () => {
    const reply = await app.call('GET', '/docs/openapi.json');
    expect(reply.status).toBe(200);
    const generated = `${JSON.stringify(reply.body, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(COMMITTED, generated);
    const committed = readFileSync(COMMITTED, 'utf8');
    expect(JSON.parse(generated)).toEqual(JSON.parse(committed));
    expect(Object.keys(reply.body.paths).length).toBeGreaterThan(30);
  });
});
