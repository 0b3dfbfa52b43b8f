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

  it('serves the same bytes with one entity tag, and 304 to a client that has them', async () => {
    const first = await fetch(`${app.url}/docs/openapi.json`);
    const body = await first.text();
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const second = await fetch(`${app.url}/docs/openapi.json`);
    expect(second.headers.get('etag')).toBe(etag);
    expect(await second.text()).toBe(body);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const revalidated = await fetch(`${app.url}/docs/openapi.json`, { headers: { 'if-none-match': ifNoneMatch } });
      expect(revalidated.status).toBe(304);
      expect(await revalidated.text()).toBe('');
    }
    const changed = await fetch(`${app.url}/docs/openapi.json`, { headers: { 'if-none-match': '"other"' } });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(body);
  });

  it('serves no YAML (never documented; its library route serialised the document again for every request)', async () => {
    expect((await app.call('GET', '/docs-yaml')).status).toBe(404);
    expect((await app.call('GET', '/docs-json')).status).toBe(404);
  });
});
