import { jest } from '@jest/globals';
import { AuditLog } from '../src/audit/index.js';
import { Database } from '../src/persistence/index.js';
import { ChainClient, DataSharingPermissions } from '../src/chain/index.js';
import { createActiveAgency, startTestApp, type TestApp } from './support/test-app.js';
import { wallet, type HeldCredential } from './support/wallet.js';
import { answerWithVpToken } from './support/vp-answer.js';

const LICENCE = {
  family_name: '王',
  given_name: '芳',
  birth_date: '1985-07-15',
  licence_number: '320101198507151234',
  categories: ['C1'],
  issue_date: '2010-01-01',
  expiry_date: '2030-04-01',
};

/**
 * OID4VP hardening: DCQL constraints re-checked on the response (never trusting the wallet), response
 * size and issuer caps, relying-party key revocation, webhook SSRF at registration, sealed verdicts with
 * retention and the purge of expired requests.
 */
describe('OpenID4VP hardening', () => {
  let app: TestApp;
  let agencyKey: string;
  let otherAgencyKey: string;
  let party: { id: string; apiKey: string };
  const citizen = wallet();
  const vct = () => `${app.config.http.publicUrl}/vct/driving-licence`;
  const receive = (apiKey = agencyKey) =>
    citizen.receive(app, apiKey, { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE, txCode: false });
  const credentialQuery = (id: string, claims: object[], extra: object = {}) => ({
    id,
    format: 'dc+sd-jwt',
    meta: { vct_values: [vct()] },
    claims,
    ...extra,
  });
  const createRequest = (dcql: object, apiKey = party.apiKey) =>
    app.call('POST', '/rp/requests', { token: apiKey, body: { dcql_query: dcql } });
  const verdict = (id: string, apiKey = party.apiKey) =>
    app.call('GET', `/rp/requests/${id}`, { token: apiKey }).then((reply) => reply.body);

  /** Creates a request for `dcql`, answers with the vp_token `shape` builds, returns the verdict. */
  async function answered(dcql: object, held: HeldCredential[], shape: Parameters<typeof answerWithVpToken>[3]) {
    const created = await createRequest(dcql);
    expect(created.status).toBe(201);
    const reply = await answerWithVpToken(citizen, created.body.link, held, shape);
    expect(reply.status).toBeLessThan(500);
    return { id: created.body.id as string, reply, verdict: await verdict(created.body.id) };
  }

  beforeAll(async () => {
    app = await startTestApp({ OID4VP_MAX_VP_TOKEN_ENTRIES: '3', OID4VP_MAX_ISSUERS_PER_RESPONSE: '1' });
    agencyKey = (await createActiveAgency(app, 'dmv-hardening', 'Hardening DMV', ['driving-licence'])).apiKey;
    otherAgencyKey = (await createActiveAgency(app, 'dmv-other', 'Other DMV', ['driving-licence'])).apiKey;
    const registered = await app.operator('POST', '/operator/relying-parties', {
      name: 'Hardening Bank',
      purpose: 'Check driving entitlement',
      allowedClaims: { 'driving-licence': ['categories', 'expiry_date'] },
    });
    expect(registered.status).toBe(201);
    party = { id: registered.body.relyingParty.id, apiKey: registered.body.apiKey };
  });
  afterAll(async () => {
    await app?.close();
  });

  it('rejects two presentations for a query without multiple (vp_token {"dl":[P,P]})', async () => {
    const held = await receive();
    const { verdict: result } = await answered(
      { credentials: [credentialQuery('dl', [{ path: ['categories'] }])] },
      [held, held],
      (p) => ({
        dl: [p[0]!, p[1]!],
      }),
    );
    expect(result.status).toBe('rejected');
    expect(result.result.reason).toBe('dl: 2 presentations where the query allows one (multiple is not set)');
  });

  it('rejects a vp_token naming a query id the request does not have', async () => {
    const held = await receive();
    const { verdict: result } = await answered(
      { credentials: [credentialQuery('dl', [{ path: ['categories'] }])] },
      [held],
      (p) => ({
        dl: [p[0]!],
        smuggled: [p[0]!],
      }),
    );
    expect(result.status).toBe('rejected');
    expect(result.result.reason).toBe('"smuggled": not a credential query of this request');
    // A member named __proto__ is refused too (a parse that assigns it would drop it, and the rest would pass).
    const proto = await answered({ credentials: [credentialQuery('dl', [{ path: ['categories'] }])] }, [held], (p) =>
      Object.assign(JSON.parse('{"__proto__":["x"]}') as Record<string, string[]>, { dl: [p[0]!] }),
    );
    expect(proto.reply.status).toBe(400);
    expect(proto.reply.body).toEqual({
      error: 'invalid_request',
      error_description: 'The authorization response has a member named __proto__',
    });
    expect(proto.verdict.status).toBe('pending');
    // The same with the vp_token sent as JSON text (the library takes that too, inside the encrypted payload).
    const asText = await answered(
      { credentials: [credentialQuery('dl', [{ path: ['categories'] }])] },
      [held],
      (p) => `{"__proto__":["x"],"dl":${JSON.stringify([p[0]!])}}` as unknown as Record<string, string[]>,
    );
    expect({ status: asText.reply.status, body: asText.reply.body, verdict: asText.verdict.status }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'The authorization response has a member named __proto__' },
      verdict: 'pending',
    });
  });

  it('enforces required credential_sets and claim values on what was verified', async () => {
    const held = await receive();
    const sets = {
      credentials: [credentialQuery('a', [{ path: ['categories'] }]), credentialQuery('b', [{ path: ['expiry_date'] }])],
      credential_sets: [{ options: [['b']] }],
    };
    const unsatisfied = await answered(sets, [held], (p) => ({ a: [p[0]!] }));
    expect(unsatisfied.verdict.status).toBe('rejected');
    expect(unsatisfied.verdict.result.reason).toBe('credential_sets.0: none of its options is fully presented');

    const wrongValue = await answered(
      { credentials: [credentialQuery('dl', [{ path: ['expiry_date'], values: ['1999-01-01'] }])] },
      [held],
      (p) => ({ dl: [p[0]!] }),
    );
    expect(wrongValue.verdict.status).toBe('rejected');
    expect(wrongValue.verdict.result.reason).toContain('dl: expiry_date does not have one of the requested values');
    // Discarded (§8.6), also as the only presentation of a rejected response: the party learns none of its claims.
    expect(wrongValue.verdict.result.credentials).toEqual([{ queryId: 'dl', checks: expect.any(Array), discarded: true }]);
    expect(JSON.stringify(wrongValue.verdict)).not.toContain('2030-04-01');

    const rightValue = await answered(
      { credentials: [credentialQuery('dl', [{ path: ['expiry_date'], values: ['2030-04-01'] }])] },
      [held],
      (p) => ({ dl: [p[0]!] }),
    );
    expect(rightValue.verdict.status).toBe('verified');
  });

  it('accepts several presentations where multiple is set, up to the cap, from at most the allowed issuers', async () => {
    const first = await receive();
    const second = await receive();
    const multiple = { credentials: [credentialQuery('dl', [{ path: ['categories'] }], { multiple: true })] };
    const two = await answered(multiple, [first, second], (p) => ({ dl: p }));
    expect(two.verdict.status).toBe('verified');
    expect(two.verdict.result.credentials).toHaveLength(2);

    const tooMany = await answered(multiple, [first, second, first, second], (p) => ({ dl: p }));
    expect(tooMany.verdict.status).toBe('rejected');
    expect(tooMany.verdict.result.reason).toBe('vp_token holds 4 presentations; at most 3');

    const foreign = await receive(otherAgencyKey);
    const twoIssuers = await answered(multiple, [first, foreign], (p) => ({ dl: p }));
    expect(twoIssuers.verdict.status).toBe('rejected');
    expect(twoIssuers.verdict.result.reason).toBe('the response names 2 issuers; at most 1');
  });

  it('answers 503 and keeps the request open when a credential cannot be checked now; the response sent again is judged', async () => {
    const dcql = { credentials: [credentialQuery('dl', [{ path: ['categories'] }])] };
    // The data-sharing answer the relying party gets, read while the chain is reachable, then replayed below:
    // the outage this test makes is of the credential's checks only.
    const permissions = app.app.get(DataSharingPermissions);
    const readPermission = permissions.isPermittedOnChain.bind(permissions);
    let permission: Awaited<ReturnType<typeof readPermission>> | undefined;
    const permissionRead = jest
      .spyOn(permissions, 'isPermittedOnChain')
      .mockImplementation(async (...args) => (permission ??= await readPermission(...args)));
    try {
      expect((await answered(dcql, [await receive()], (p) => ({ dl: p }))).verdict.status).toBe('verified');
      // An agency no check has seen yet: its DID keys and authorisation must be read from the chain.
      const freshKey = (await createActiveAgency(app, 'dmv-unseen', 'Unseen DMV', ['driving-licence'])).apiKey;
      const held = await receive(freshKey);
      const created = await createRequest(dcql);
      const resolved = await citizen.resolveRequest(created.body.link);
      const vpToken = { dl: [await citizen.present(held, resolved)] };
      // The chain refuses every reader but its rebuild (as while the embedded node replays its journal).
      const unreachable = await app.app.get(ChainClient).rebuilding(() => citizen.submit(resolved, vpToken));
      expect(unreachable.status).toBe(503);
      expect(unreachable.body.error).toBe('temporarily_unavailable');
      expect((await verdict(created.body.id)).status).toBe('pending');
      const again = await citizen.submit(resolved, vpToken);
      expect(again.status).toBe(200);
      expect((await verdict(created.body.id)).status).toBe('verified');
    } finally {
      permissionRead.mockRestore();
    }
  });

  it('issues and revokes relying-party API keys; a revoked key is refused at once', async () => {
    const issued = await app.operator('POST', `/operator/relying-parties/${party.id}/api-keys`);
    expect(issued.status).toBe(201);
    const newKey = issued.body.apiKey as string;
    // rpk_<12-character prefix>_<secret>; the prefix itself may contain '_'.
    const oldPrefix = party.apiKey.slice('rpk_'.length, 'rpk_'.length + 12);
    expect((await app.call('GET', '/rp/requests/00000000-0000-4000-8000-000000000000', { token: newKey })).status).toBe(404);

    const revoked = await app.operator('DELETE', `/operator/relying-parties/${party.id}/api-keys/${oldPrefix}`);
    expect(revoked.status).toBe(204);
    const refused = await createRequest({ credentials: [credentialQuery('dl', [{ path: ['categories'] }])] });
    expect(refused.status).toBe(401);
    expect(refused.body.type).toBe('urn:chancery:problem:unauthorized');
    expect((await app.operator('DELETE', `/operator/relying-parties/${party.id}/api-keys/${oldPrefix}`)).status).toBe(404);
    const keys = (await app.operator('GET', `/operator/relying-parties/${party.id}/api-keys`)).body as {
      prefix: string;
      revokedAt: string | null;
    }[];
    expect(keys.find((key) => key.prefix === oldPrefix)?.revokedAt).toEqual(expect.any(String));
    expect((await app.call('POST', '/rp/requests', { token: 'rpk_nonsense' })).status).toBe(401);
    party.apiKey = newKey;
    expect((await createRequest({ credentials: [credentialQuery('dl', [{ path: ['categories'] }])] })).status).toBe(201);
    // Without a live operator key, nothing is issued.
    expect((await app.call('POST', `/operator/relying-parties/${party.id}/api-keys`, { token: newKey })).status).toBe(401);
  });

  it('commits relying-party changes with their audit entries: a failed append changes nothing, a retry works', async () => {
    const count = async (sql: string, ...params: string[]) => {
      let n = 0;
      const query = app.dbKind === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
      const rows = (await app.app.get(Database).dataSource.query(query, params)) as { n: number | string }[];
      return Number(rows[0]!.n);
    };
    const audited = (kind: string, subject: string) =>
      count('SELECT COUNT(*) AS n FROM audit_entries WHERE kind = ? AND subject = ?', kind, subject);
    const keys = async (partyId: string) =>
      (await app.operator('GET', `/operator/relying-parties/${partyId}/api-keys`)).body as {
        prefix: string;
        revokedAt: string | null;
      }[];
    const works = async (apiKey: string) =>
      (await app.call('GET', '/rp/requests/00000000-0000-4000-8000-000000000000', { token: apiKey })).status === 404;
    const append = jest.spyOn(app.app.get(AuditLog), 'append');
    const failOnce = () => append.mockRejectedValueOnce(new Error('audit log unavailable'));
    try {
      // Registration: nothing is stored when its entry cannot be appended.
      const registration = {
        name: 'Atomic Bank',
        purpose: 'Check driving entitlement',
        allowedClaims: { 'driving-licence': ['categories'] },
      };
      const parties = () => count('SELECT COUNT(*) AS n FROM relying_parties WHERE name = ?', registration.name);
      failOnce();
      const unregistered = await app.operator('POST', '/operator/relying-parties', registration);
      expect(unregistered.status).toBe(500);
      expect(unregistered.body.apiKey).toBeUndefined();
      expect(await parties()).toBe(0);
      const registered = await app.operator('POST', '/operator/relying-parties', registration);
      expect(registered.status).toBe(201);
      expect(await parties()).toBe(1);
      const id = registered.body.relyingParty.id as string;
      const first = registered.body.apiKey as string;
      expect(await works(first)).toBe(true);
      expect(await audited('relying_party.registered', `relying-party:${id}`)).toBe(1);

      // Another key: none is stored when the append fails.
      failOnce();
      const unissued = await app.operator('POST', `/operator/relying-parties/${id}/api-keys`);
      expect(unissued.status).toBe(500);
      expect(await keys(id)).toHaveLength(1);
      const issued = await app.operator('POST', `/operator/relying-parties/${id}/api-keys`);
      expect(issued.status).toBe(201);
      expect(await keys(id)).toHaveLength(2);
      expect(await audited('relying_party.api_key.created', `relying-party:${id}`)).toBe(1);

      // Revocation: the key stays live when the append fails; the retry revokes it (204, not 404).
      const prefix = first.slice('rpk_'.length, 'rpk_'.length + 12);
      failOnce();
      const unrevoked = await app.operator('DELETE', `/operator/relying-parties/${id}/api-keys/${prefix}`);
      expect(unrevoked.status).toBe(500);
      expect(await works(first)).toBe(true);
      expect((await keys(id)).find((key) => key.prefix === prefix)?.revokedAt).toBeNull();
      expect(await audited('relying_party.api_key.revoked', `relying-party:${id}`)).toBe(0);
      expect((await app.operator('DELETE', `/operator/relying-parties/${id}/api-keys/${prefix}`)).status).toBe(204);
      expect(await works(first)).toBe(false);
      expect(await works(issued.body.apiKey as string)).toBe(true);
      expect(await audited('relying_party.api_key.revoked', `relying-party:${id}`)).toBe(1);
    } finally {
      append.mockRestore();
    }
  });

  it.each([
    'http://127.0.0.1:9/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.1/hook',
    'http://localhost/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://user:pw@example.com/hook',
  ])('refuses the webhook %s at registration', async (webhookUrl) => {
    const refused = await app.operator('POST', '/operator/relying-parties', {
      name: 'SSRF',
      purpose: 'probe',
      allowedClaims: { 'driving-licence': ['categories'] },
      webhookUrl,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.violations[0].path).toBe('webhookUrl');
  });

  it('seals verdicts and request data at rest, purges claims after retention and deletes expired requests', async () => {
    const { Database } = await import('../src/persistence/index.js');
    const { PresentationRequestEntity } = await import('../src/verifier/index.js');
    const { PresentationRetention } = await import('../src/verifier/presentations/presentation-retention.js');
    const row = (id: string) =>
      app.app.get(Database).use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneByOrFail({ id }));
    const presentations = app.app.get(PresentationRetention);

    const held = await receive();
    const query = { credentials: [credentialQuery('dl', [{ path: ['expiry_date'] }])] };
    const read = await answered(query, [held], (p) => ({ dl: [p[0]!] }));
    // Answered but never read.
    const unreadRequest = await createRequest(query);
    await answerWithVpToken(citizen, unreadRequest.body.link, [held], (p) => ({ dl: [p[0]!] }));
    const unread = { id: unreadRequest.body.id as string };
    const pending = await createRequest(query);
    const stored = await row(unread.id);
    expect(stored.result).not.toContain('2030-04-01');
    expect(stored.result).not.toContain('expiry_date');
    expect(stored.requestPayload).not.toContain('nonce');
    expect(stored.requestObject).toBeNull();
    expect(stored.nonceHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await row(pending.body.id)).requestObject).not.toMatch(/^eyJ/);

    // `read` was read by answered(); its claims go VERDICT_RETENTION_SECONDS (600) later.
    const now = Date.now();
    expect(await presentations.purgeNow(new Date(now + 300 * 1000))).toEqual({ verdicts: 0, expired: 0, deleted: 0 });
    await presentations.purgeNow(new Date(now + 601 * 1000));
    const purged = await verdict(read.id);
    expect(purged).toEqual(expect.objectContaining({ status: 'verified', resultPurged: true }));
    expect(purged.result).toBeUndefined();
    expect((await row(read.id)).result).toBeNull();
    // The unread verdict waits until VERDICT_MAX_UNREAD_SECONDS (86,400); the pending request expired
    // (300 s) and is deleted VERDICT_RETENTION_SECONDS later.
    expect((await row(unread.id)).result).not.toBeNull();
    expect((await verdict(pending.body.id)).status).toBe('pending');
    await presentations.purgeNow(new Date(now + 86_401 * 1000));
    expect((await row(unread.id)).result).toBeNull();
    expect((await app.call('GET', `/rp/requests/${pending.body.id}`, { token: party.apiKey })).status).toBe(404);
    // What is left of an answered request goes PRESENTATION_REQUEST_RETENTION_DAYS (30) after its purge: the purge
    // at +601 s stamped `read`, the one at +86,401 s `unread`.
    const day = 86_400_000;
    await presentations.purgeNow(new Date(now + 601 * 1000 + 30 * day - 1000));
    expect((await verdict(read.id)).status).toBe('verified');
    expect((await presentations.purgeNow(new Date(now + 601 * 1000 + 30 * day))).deleted).toBeGreaterThanOrEqual(1);
    expect((await app.call('GET', `/rp/requests/${read.id}`, { token: party.apiKey })).status).toBe(404);
    expect((await verdict(unread.id)).status).toBe('verified');
    expect((await presentations.purgeNow(new Date(now + 86_401 * 1000 + 30 * day))).deleted).toBeGreaterThanOrEqual(1);
    expect((await app.call('GET', `/rp/requests/${unread.id}`, { token: party.apiKey })).status).toBe(404);
  });
});
