import { jest } from '@jest/globals';
import { runCli } from '../src/cli.js';
import { AuditLog } from '../src/audit/index.js';
import { Database } from '../src/persistence/index.js';
import { sampleSum } from './support/metrics.js';
import { createActiveAgency, eventually, independentResolver, startTestApp, type TestApp } from './support/test-app.js';

/** Agencies get a did:ethr anchored on chain; checked with ethr-did-resolver used directly, not our code. */
describe('agencies and their DIDs', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('anchors the agency DID with its ES256 key and service endpoint, readable by ethr-did-resolver', async () => {
    const { agency } = await createActiveAgency(app, 'transport-bureau', 'Transport Bureau 交通运输局');
    expect(agency.did).toMatch(/^did:ethr:govchain:0x[0-9a-fA-F]{40}$/);
    expect(agency.signingKid).toMatch(new RegExp(`^${agency.did}#delegate-\\d+$`));

    const independent = await independentResolver(app);
    const { didDocument } = await independent.resolver.resolve(agency.did).finally(() => independent.close());
    const method = didDocument!.verificationMethod!.find((vm) => vm.id === agency.signingKid)!;
    expect(method).toBeDefined();
    expect(didDocument!.assertionMethod).toContain(agency.signingKid);
    const expected =
      '04' +
      Buffer.from(agency.signingKey.x, 'base64url').toString('hex') +
      Buffer.from(agency.signingKey.y, 'base64url').toString('hex');
    expect(method.publicKeyHex).toBe(expected);
    expect(agency.signingKey.crv).toBe('P-256');
    expect(didDocument!.service).toEqual([expect.objectContaining({ type: 'LinkedDomains', serviceEndpoint: app.url })]);

    // Our Universal-Resolver-shaped endpoint serves the same document.
    const ours = await app.call('GET', `/1.0/identifiers/${encodeURIComponent(agency.did)}`);
    expect(ours.status).toBe(200);
    expect(ours.headers.get('content-type')).toContain('application/ld+json');
    expect(ours.body.didDocument).toEqual(didDocument);
    expect(ours.body.didResolutionMetadata.contentType).toBe('application/did+ld+json');
  });

  it('authenticates agency back-offices by API key', async () => {
    const { agency, apiKey } = await createActiveAgency(app, 'market-regulator');
    const me = await app.call('GET', '/agency', { token: apiKey });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(agency.id);

    const tampered = apiKey.slice(0, -2) + (apiKey.endsWith('AA') ? 'BB' : 'AA');
    for (const token of [tampered, 'nonsense', app.operatorApiKey]) {
      const denied = await app.call('GET', '/agency', { token });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('content-type')).toContain('application/problem+json');
      expect(denied.body.code).toBe('unauthorized');
    }

    const second = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'desk 2' });
    expect(second.status).toBe(201);
    expect((await app.call('GET', '/agency', { token: second.body.apiKey })).body.id).toBe(agency.id);
  });

  it('commits an API key change with its audit entry: a failed append changes nothing, and a retry works', async () => {
    const { agency, apiKey } = await createActiveAgency(app, 'land-registry');
    const count = async (sql: string, ...params: string[]) => {
      let n = 0;
      const query = app.dbKind === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
      const rows = (await app.app.get(Database).dataSource.query(query, params)) as { n: number | string }[];
      return Number(rows[0]!.n);
    };
    const keys = () => count('SELECT COUNT(*) AS n FROM agency_api_keys WHERE agency_id = ?', agency.id);
    const audited = (kind: string) =>
      count('SELECT COUNT(*) AS n FROM audit_entries WHERE kind = ? AND subject = ?', kind, `agency:${agency.id}`);
    const append = jest.spyOn(app.app.get(AuditLog), 'append');
    try {
      // Creation: the append fails, so no key was stored (and none was shown); the retry stores one.
      expect(await keys()).toBe(1);
      append.mockRejectedValueOnce(new Error('audit log unavailable'));
      const failed = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'desk 3' });
      expect(failed.status).toBe(500);
      expect(failed.body.apiKey).toBeUndefined();
      expect(await keys()).toBe(1);
      expect(await audited('agency.api_key.created')).toBe(0);
      const created = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'desk 3' });
      expect(created.status).toBe(201);
      expect((await app.call('GET', '/agency', { token: created.body.apiKey })).status).toBe(200);
      expect(await keys()).toBe(2);
      expect(await audited('agency.api_key.created')).toBe(1);

      // Revocation: the append fails, so the key still works; the retry revokes it (204, not 404).
      const prefix = apiKey.slice('chy_'.length, 'chy_'.length + 12);
      expect((await app.call('GET', '/agency', { token: apiKey })).status).toBe(200); // remembered now
      append.mockRejectedValueOnce(new Error('audit log unavailable'));
      const refused = await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${prefix}`);
      expect(refused.status).toBe(500);
      expect((await app.call('GET', '/agency', { token: apiKey })).status).toBe(200);
      expect(await audited('agency.api_key.revoked')).toBe(0);
      expect((await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${prefix}`)).status).toBe(204);
      expect((await app.call('GET', '/agency', { token: apiKey })).status).toBe(401);
      expect((await app.call('GET', '/agency', { token: created.body.apiKey })).status).toBe(200);
      expect(await audited('agency.api_key.revoked')).toBe(1);

      // The operator sees which keys exist and which are revoked, never a secret or its digest.
      const listed = await app.operator('GET', `/operator/agencies/${agency.slug}/api-keys`);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual([
        expect.objectContaining({ prefix, revokedAt: expect.any(String) }),
        { prefix: created.body.apiKey.slice(4, 16), label: 'desk 3', createdAt: expect.any(String), revokedAt: null },
      ]);
      expect(JSON.stringify(listed.body)).not.toContain(created.body.apiKey.slice(17));
      expect(Object.keys(listed.body[0]).sort()).toEqual(['createdAt', 'label', 'prefix', 'revokedAt']);
      expect((await app.operator('GET', '/operator/agencies/no-such-agency/api-keys')).status).toBe(404);
      expect((await app.call('GET', `/operator/agencies/${agency.id}/api-keys`, { token: apiKey })).status).toBe(401);
    } finally {
      append.mockRestore();
    }
  });

  it('answers client mistakes with problem details, never a 500', async () => {
    const noAuth = await app.call('POST', '/operator/agencies', { body: { slug: 'x', name: 'y' } });
    expect(noAuth.status).toBe(401);

    const invalid = await app.operator('POST', '/operator/agencies', { slug: 'Not Valid!' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.violations.map((v: { path: string }) => v.path).sort()).toEqual(['name', 'slug']);

    await createActiveAgency(app, 'duplicate-me');
    const duplicate = await app.operator('POST', '/operator/agencies', { slug: 'duplicate-me', name: 'Again' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('conflict');

    const malformed = await app.call('POST', '/operator/agencies', { body: '{"slug":', token: app.operatorApiKey });
    expect(malformed.status).toBe(400);
    expect(malformed.body.stack).toBeUndefined();

    const huge = await app.call('POST', '/operator/agencies', {
      body: { slug: 'big', name: 'x'.repeat(200_000) },
      token: app.operatorApiKey,
    });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');

    const unknownDid = await app.call('GET', '/1.0/identifiers/did:ethr:govchain:0xnothex');
    expect(unknownDid.status).toBe(400);
    expect(unknownDid.body.didResolutionMetadata.error).toBe('invalidDid');

    const missingAgency = await app.operator('GET', '/operator/agencies/none-such');
    expect(missingAgency.status).toBe(404);
  });

  it('reports health of the database and the chain, and metrics', async () => {
    const health = await app.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.info.database).toEqual(expect.objectContaining({ status: 'up', kind: app.dbKind }));
    expect(health.body.info.chain).toEqual(expect.objectContaining({ status: 'up', chainId: 7777 }));

    const metrics = await app.call('GET', '/metrics');
    expect(metrics.body).toMatch(/chancery_outbox_entries\{status="mined"\} [1-9]/);

    // Requests are counted by route template (an id in a path would make a series per id), and unrouted ones as one.
    const before = await app.call('GET', '/metrics');
    const counted = (text: string, route: string, status: string) =>
      sampleSum(text, 'chancery_http_requests_total', { method: 'GET', route, status }) ?? 0;
    expect((await app.operator('GET', '/operator/agencies/metrics-probe-id')).status).toBe(404);
    expect((await app.call('GET', '/no-such-route/metrics-probe-id')).status).toBe(404);
    const after = await eventually(async () => {
      const text = (await app.call('GET', '/metrics')).body as string;
      return counted(text, '(unmatched)', '404') > counted(before.body, '(unmatched)', '404') ? text : undefined;
    });
    expect(counted(after, '/operator/agencies/:id', '404')).toBe(counted(before.body, '/operator/agencies/:id', '404') + 1);
    expect(after).not.toContain('metrics-probe-id');
    expect(sampleSum(after, 'chancery_http_request_duration_seconds_count', { route: '/operator/agencies/:id' })).toBeGreaterThan(
      0,
    );
    // Background jobs, the chain poller and Node's own figures.
    expect(sampleSum(after, 'chancery_background_job_last_success_timestamp_seconds', { job: 'outbox pass' })).toBeGreaterThan(
      Date.now() / 1000 - 600,
    );
    expect(
      sampleSum(after, 'chancery_background_job_rounds_total', { job: 'outbox pass', outcome: 'succeeded' }),
    ).toBeGreaterThan(0);
    expect(sampleSum(after, 'chancery_chain_head_block')).toBeGreaterThan(0);
    expect(sampleSum(after, 'chancery_chain_last_poll_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sampleSum(after, 'nodejs_eventloop_utilization')).toBeGreaterThan(0);
    expect(sampleSum(after, 'process_cpu_seconds_total', { mode: 'user' })).toBeGreaterThan(0);
    expect(sampleSum(after, 'nodejs_heap_bytes', { kind: 'used' })).toBeGreaterThan(0);
    expect(sampleSum(after, 'process_uptime_seconds')).toBeGreaterThanOrEqual(0);

    const docs = await app.call('GET', '/docs/openapi.json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/operator/agencies', '/1.0/identifiers/{did}', '/health']),
    );
  });

  it('lets operators manage agencies from the CLI', async () => {
    const env = { CHANCERY_URL: app.url, OPERATOR_API_KEY: app.operatorApiKey };
    const created = await runCli(['agency:create', '--slug', 'cli-agency', '--name', 'Created from the CLI'], env);
    expect(created).toEqual(expect.objectContaining({ ok: true }));
    const { agency, apiKey } = created.output as { agency: { id: string; did: string }; apiKey: string };
    expect(apiKey).toMatch(/^chy_/);

    const active = await eventually(async () => {
      const shown = await runCli(['agency:show', 'cli-agency'], env);
      return (shown.output as { status: string }).status === 'active' ? shown.output : undefined;
    });
    expect(active).toEqual(expect.objectContaining({ id: agency.id, did: agency.did }));

    const listed = await runCli(['agency:list'], env);
    expect((listed.output as { slug: string }[]).map((a) => a.slug)).toContain('cli-agency');
    const key = await runCli(['apikey:create', 'cli-agency', '--label', 'desk'], env);
    expect((key.output as { apiKey: string }).apiKey).toMatch(/^chy_/);

    const denied = await runCli(['agency:list'], { ...env, OPERATOR_API_KEY: 'wrong-key-wrong-key-wrong-key' });
    expect(denied.ok).toBe(false);
    expect((denied.output as { code: string }).code).toBe('unauthorized');
    await expect(runCli(['nonsense'], env)).rejects.toThrow(/Unknown command nonsense/);
  });
});
