import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Walks every operation in the OpenAPI document with malformed input: junk path parameters, broken and
 * hostile JSON, wrong content types, repeated form keys, bad %-encoding. A client's mistake is never a
 * 5xx, and every error is problem details or OAuth error JSON. Bounded: a fixed set of cases per operation.
 */
describe('fuzzing every route of the OpenAPI document', () => {
  let app: TestApp;
  let agencyKey: string;

  beforeAll(async () => {
    app = await startTestApp();
    const created = await app.operator('POST', '/operator/agencies', { slug: 'fuzzed', name: 'Fuzzed agency' });
    agencyKey = created.body.apiKey as string;
  });

  afterAll(async () => {
    await app?.close();
  });

  const PATH_JUNK = [
    'x',
    '%E0%A4%A',
    '%',
    'A'.repeat(3000),
    '..%2F..%2Fetc%2Fpasswd',
    '00000000-0000-4000-8000-000000000000',
    '-1',
    '1e400',
    '%F0%9F%92%A5',
    'did:ethr:govchain:0xZZ',
  ];

  interface Case {
    label: string;
    body?: string;
    contentType?: string;
  }
  const BODY_CASES: Case[] = [
    { label: 'no body' },
    { label: 'malformed JSON', body: '{"a":', contentType: 'application/json' },
    { label: 'JSON array', body: '[1,2,3]', contentType: 'application/json' },
    { label: 'JSON null', body: 'null', contentType: 'application/json' },
    { label: 'JSON string', body: '"text"', contentType: 'application/json' },
    {
      label: 'huge numbers',
      body: '{"a":1e400,"b":-99999999999999999999999999999,"c":1.7976931348623157e309}',
      contentType: 'application/json',
    },
    {
      label: 'wrong types everywhere',
      body: JSON.stringify({
        credential: 1,
        presentation: [],
        options: 'x',
        slug: {},
        name: null,
        type: 7,
        query: 'x',
        reason: [],
        status: {},
        grant_type: 5,
      }),
      contentType: 'application/json',
    },
    {
      label: 'prototype pollution',
      body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
      contentType: 'application/json',
    },
    { label: 'repeated JSON member', body: '{"a":1,"a":2}', contentType: 'application/json' },
    {
      label: 'member named toString',
      body: '{"toString":0,"credential":{"toString":{}},"verifiableCredential":{"type":{"toString":1}}}',
      contentType: 'application/json',
    },
    { label: 'deep nesting', body: '['.repeat(5000) + ']'.repeat(5000), contentType: 'application/json' },
    { label: 'text body', body: 'hello', contentType: 'text/plain' },
    { label: 'xml body', body: '<a/>', contentType: 'application/xml' },
    { label: 'bad content type', body: '{}', contentType: 'application/json; charset=utf-99;;' },
    { label: 'repeated form keys', body: 'a=1&a=2&client_id=x&client_id=y', contentType: 'application/x-www-form-urlencoded' },
    { label: 'bad %-encoding in form', body: 'a=%E0%A4%A&b=%', contentType: 'application/x-www-form-urlencoded' },
    {
      label: 'form with JSON-ish values',
      body: 'authorization_details=%5B1%5D&proof=%7B&proofs=null',
      contentType: 'application/x-www-form-urlencoded',
    },
  ];

  const isProblem = (body: unknown) =>
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Record<string, unknown>)['type'] === 'string' &&
    typeof (body as Record<string, unknown>)['title'] === 'string' &&
    typeof (body as Record<string, unknown>)['status'] === 'number' &&
    typeof (body as Record<string, unknown>)['code'] === 'string';
  const isOAuthError = (body: unknown) =>
    typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['error'] === 'string';

  /** DID resolution answers in the DID Resolution result shape (Universal Resolver), by design. */
  const isDidResolutionError = (template: string, body: unknown) =>
    template.startsWith('/1.0/identifiers/') &&
    typeof (body as { didResolutionMetadata?: { error?: unknown } } | null)?.didResolutionMetadata?.error === 'string';

  /**
   * The error shape an operation declares: `x-error-format: oauth` (from @OAuthErrors()), or problem details
   * when it lists application/problem+json responses; undefined when it declares neither.
   */
  const declaredShape = (operation: Operation): 'oauth' | 'problem' | undefined => {
    if (operation['x-error-format'] === 'oauth') return 'oauth';
    const responses = Object.values(operation.responses ?? {});
    return responses.some((response) => response.content?.['application/problem+json']) ? 'problem' : undefined;
  };
  /**
   * True when the operation declares this status with a body of its own media type (the DID resolution
   * result of 400/404 at /1.0/identifiers), not one of the two error shapes. Such a route answers its own
   * body from the handler, and problem details for what the platform refuses before it (an unparseable URL).
   */
  const declaresOwnBody = (operation: Operation, status: number): boolean => {
    const content = operation.responses?.[String(status)]?.content;
    return content !== undefined && !content['application/problem+json'] && operation['x-error-format'] !== 'oauth';
  };
  interface Operation {
    'x-error-format'?: string;
    responses?: Record<string, { content?: Record<string, unknown> }>;
  }

  it('answers every malformed request with a 4xx in one of the two error shapes, the one the operation declares', async () => {
    const openApi = await app.call('GET', '/docs/openapi.json');
    expect(openApi.status).toBe(200);
    const paths = openApi.body.paths as Record<string, Record<string, Operation>>;
    const operations = Object.entries(paths).flatMap(([template, methods]) =>
      Object.entries(methods)
        .filter(([method]) => ['get', 'post', 'put', 'delete', 'patch'].includes(method))
        .map(([method, operation]) => ({ template, method: method.toUpperCase(), shape: declaredShape(operation), operation })),
    );
    expect(operations.length).toBeGreaterThan(20);
    // The OID4VCI routes declare OAuth errors, the officer's offer routes problem details.
    expect(operations.filter((operation) => operation.shape === 'oauth').length).toBeGreaterThanOrEqual(12);
    expect(operations.find((operation) => operation.template === '/agency/offers')?.shape).toBe('problem');

    const failures: string[] = [];
    let requests = 0;
    for (const [index, operation] of operations.entries()) {
      const hasParams = operation.template.includes('{');
      const cases = operation.method === 'GET' || operation.method === 'DELETE' ? BODY_CASES.slice(0, 1) : BODY_CASES;
      const junkValues = hasParams ? PATH_JUNK : ['-'];
      for (const [junkIndex, junk] of junkValues.entries()) {
        // Every junk path value with a plain request; the body cases with two of them.
        const bodyCases = junkIndex < 2 ? cases : cases.slice(0, 1);
        for (const [caseIndex, bodyCase] of bodyCases.entries()) {
          const path = operation.template.replace(/\{[^}]+\}/g, junk);
          // Rotate credentials so that guarded handlers are reached too.
          const token = [undefined, app.operatorApiKey, agencyKey][(index + junkIndex + caseIndex) % 3];
          const headers: Record<string, string> = {};
          if (bodyCase.contentType) headers['content-type'] = bodyCase.contentType;
          if (token) headers['authorization'] = `Bearer ${token}`;
          const response = await fetch(app.url + path, { method: operation.method, headers, body: bodyCase.body });
          requests++;
          const text = await response.text();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          const where = `${operation.method} ${operation.template} [${junk.slice(0, 20)}] ${bodyCase.label}`;
          if (response.status >= 500) failures.push(`${where}: ${response.status} ${text.slice(0, 120)}`);
          else if (
            response.status >= 400 &&
            !isProblem(body) &&
            !isOAuthError(body) &&
            !isDidResolutionError(operation.template, body)
          ) {
            failures.push(`${where}: ${response.status} not an error shape: ${text.slice(0, 120)}`);
          } else if (
            response.status >= 400 &&
            operation.shape !== undefined &&
            !(declaresOwnBody(operation.operation, response.status)
              ? isDidResolutionError(operation.template, body) || isProblem(body)
              : operation.shape === 'oauth'
                ? isOAuthError(body)
                : isProblem(body))
          ) {
            failures.push(`${where}: ${response.status} not the declared ${operation.shape} shape: ${text.slice(0, 120)}`);
          } else if (response.status >= 400 && /at \w+ \(|node_modules|FST_ERR|Unexpected token/.test(text)) {
            failures.push(`${where}: ${response.status} leaks internals: ${text.slice(0, 120)}`);
          }
        }
      }
    }
    expect(requests).toBeGreaterThan(200);
    expect(requests).toBeLessThan(5000);
    expect(failures).toEqual([]);
  });
});
