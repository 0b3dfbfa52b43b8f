import { createActiveAgency, startTestApp, type Reply, type TestApp } from './support/test-app.js';
import { openApiConformance } from './support/openapi-conformance.js';

/**
 * The response schemas in the OpenAPI document are true: real answers of the operator, agency, DID,
 * health and metrics routes (successes and problems) match what the served document declares.
 */
describe('OpenAPI response schemas of the operator, agency, DID and health routes', () => {
  let app: TestApp;
  let conforms: ReturnType<typeof openApiConformance>;

  beforeAll(async () => {
    app = await startTestApp();
    const document = await app.call('GET', '/docs/openapi.json');
    expect(document.status).toBe(200);
    conforms = openApiConformance(document.body);
  });
  afterAll(async () => {
    await app?.close();
  });

  const check = (method: string, template: string, reply: Reply, status: number) => {
    expect({ status: reply.status, nonConformities: conforms(method, template, reply) }).toEqual({ status, nonConformities: [] });
  };

  it('declares what the operator and agency routes answer', async () => {
    const created = await app.operator('POST', '/operator/agencies', { slug: 'schema-office', name: 'Schema Office' });
    check('POST', '/operator/agencies', created, 201);
    const { agency, apiKey } = await createActiveAgency(app, 'schema-bureau');

    check('GET', '/operator/chain', await app.operator('GET', '/operator/chain'), 200);
    check('GET', '/operator/agencies', await app.operator('GET', '/operator/agencies'), 200);
    check('GET', '/operator/agencies/{id}', await app.operator('GET', `/operator/agencies/${agency.id}`), 200);
    check('GET', '/operator/outbox', await app.operator('GET', '/operator/outbox'), 200);
    // The audit trail (ADR 16) and the holders' usage log.
    check('POST', '/operator/audit/anchors', await app.operator('POST', '/operator/audit/anchors'), 200);
    check('GET', '/audit/entries/{seq}', await app.operator('GET', '/audit/entries/1'), 200);
    check('GET', '/audit/entries/{seq}', await app.operator('GET', '/audit/entries/999999'), 404);
    const records = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    check('POST', '/citizens/records/requests', records, 201);
    const poll = `/citizens/records/requests/${records.body.id}?readToken=${records.body.readToken}`;
    check('GET', '/citizens/records/requests/{id}', await app.call('GET', poll), 200);
    check('GET', '/agency', await app.call('GET', '/agency', { token: apiKey }), 200);

    const issued = await app.operator('POST', `/operator/agencies/${agency.slug}/api-keys`, { label: 'desk' });
    check('POST', '/operator/agencies/{id}/api-keys', issued, 201);
    const prefix = (issued.body.apiKey as string).slice('chy_'.length, 'chy_'.length + 12); // fixed length; may hold '_'
    check(
      'DELETE',
      '/operator/agencies/{id}/api-keys/{prefix}',
      await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${prefix}`),
      204,
    );

    // Problems: the same document declares them.
    check(
      'DELETE',
      '/operator/agencies/{id}/api-keys/{prefix}',
      await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${prefix}`),
      404,
    );
    check(
      'POST',
      '/operator/agencies',
      await app.operator('POST', '/operator/agencies', { slug: 'schema-office', name: 'Again' }),
      409,
    );
    check('POST', '/operator/agencies', await app.operator('POST', '/operator/agencies', { slug: 'X', name: '' }), 400);
    check('GET', '/operator/agencies/{id}', await app.operator('GET', '/operator/agencies/no-such-agency'), 404);
    check('GET', '/operator/outbox', await app.call('GET', '/operator/outbox'), 401);
    check('GET', '/agency', await app.call('GET', '/agency', { token: 'chy_nothing_here' }), 401);
  });

  it('declares what DID resolution answers, found or not', async () => {
    const { agency } = await createActiveAgency(app, 'schema-registry');
    check('GET', '/1.0/identifiers/{did}', await app.call('GET', `/1.0/identifiers/${encodeURIComponent(agency.did)}`), 200);
    check('GET', '/1.0/identifiers/{did}', await app.call('GET', '/1.0/identifiers/did:web:example.com'), 400);
    check('GET', '/1.0/identifiers/{did}', await app.call('GET', '/1.0/identifiers/not-a-did'), 400);
    const unknownVersion = await app.call('GET', `/1.0/identifiers/${encodeURIComponent(agency.did)}?versionId=999999999`);
    check('GET', '/1.0/identifiers/{did}', unknownVersion, 404);
  });

  it('declares the health answer and the metrics text', async () => {
    check('GET', '/health', await app.call('GET', '/health'), 200);
    const metrics = await app.call('GET', '/metrics');
    check('GET', '/metrics', metrics, 200);
    expect(metrics.body).toContain('chancery_outbox_entries{status="mined"}');
  });
});
