import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { migrations } from '../migrations/index.js';
import { entities } from '../src/entities.js';
import { Database, openDataSource } from '../src/persistence/index.js';
import { PresentationRequestRepository } from '../src/verifier/presentations/presentation-request.repository.js';
import type { PresentationRequestEntity } from '../src/verifier/presentations/presentation-request.entity.js';
import { RelyingPartyRepository } from '../src/verifier/relying-parties/relying-party.repository.js';
import { testDatabase, type TestDatabase } from './support/test-app.js';

/**
 * The OID4VP repositories' contract on a real database (SQLite and PostgreSQL, no chain, no app): the
 * single-use operations let exactly one of many concurrent callers win, and the typed columns keep their
 * text form in the database.
 */
describe('OID4VP repositories', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let db: Database;
  let parties: RelyingPartyRepository;
  let requests: PresentationRequestRepository;
  const NOW = new Date('2026-11-25T10:00:00.000Z');
  const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await testDatabase('oid4vp_repositories');
    dataSource = await openDataSource(database.config, entities, migrations);
    db = new Database(dataSource);
    parties = new RelyingPartyRepository(db);
    requests = new PresentationRequestRepository(db);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function party(allowedClaims: Record<string, string[]> = { 'driving-licence': ['categories'] }) {
    const id = randomUUID();
    const prefix = randomUUID().replaceAll('-', '').slice(0, 12);
    await parties.insert({
      id,
      name: 'Bank',
      purpose: 'Check driving entitlement',
      allowedClaims,
      clientIdPrefix: 'decentralized_identifier',
      signingKeyId: randomUUID(),
      certificate: null,
      webhookUrl: null,
      webhookSecretSealed: null,
      apiKeyPrefix: prefix,
      apiKeyHash: 'a'.repeat(64),
      createdAt: NOW,
    });
    return { id, prefix };
  }

  async function pendingRequest(overrides: Partial<PresentationRequestEntity> = {}) {
    const id = randomUUID();
    await requests.insert({
      id,
      relyingPartyId: (await party()).id,
      clientId: 'decentralized_identifier:did:jwk:x',
      requestPayload: 'd1.sealed-payload',
      requestObject: 'd1.sealed-object',
      stateHash: randomUUID().replaceAll('-', '').padEnd(64, '0'),
      nonceHash: 'b'.repeat(64),
      encryptionKeySealed: 'd1.sealed-key',
      status: 'pending',
      result: null,
      purgeAt: null,
      purgedAt: null,
      viewTokenHash: 'c'.repeat(64),
      expiresAt: at(300),
      createdAt: NOW,
      completedAt: null,
      dataSharingPermissions: null,
      ...overrides,
    });
    return id;
  }

  it('completes a presentation request exactly once: of 8 concurrent completions one wins', async () => {
    const id = await pendingRequest();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        requests.complete(id, i % 2 ? 'verified' : 'rejected', `d1.verdict-${i}`, at(1), at(86_400)),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.indexOf(true);
    const row = (await requests.byId(id))!;
    expect(row).toEqual(
      expect.objectContaining({
        status: winner % 2 ? 'verified' : 'rejected',
        result: `d1.verdict-${winner}`,
        requestObject: null,
        encryptionKeySealed: null,
      }),
    );
    expect(row.completedAt!.getTime()).toBe(at(1).getTime());
    // A later response finds nothing pending.
    expect(await requests.complete(id, 'verified', 'd1.late', at(2), at(86_400))).toBe(false);
  });

  it('revokes a relying-party API key exactly once: of 8 concurrent revocations one reports it', async () => {
    const { id, prefix } = await party();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => parties.revokeApiKey(id, prefix, at(5))));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await parties.liveApiKey(prefix)).toBeNull();
    expect((await parties.apiKeys(id))[0]!.revokedAt!.getTime()).toBe(at(5).getTime());
  });

  it('moves a verdict purge only earlier, purges due verdicts and deletes requests that expired unanswered', async () => {
    const answered = await pendingRequest();
    await requests.complete(answered, 'verified', 'd1.verdict', at(1), at(86_400));
    await requests.purgeSoon(answered, at(600));
    await requests.purgeSoon(answered, at(900));
    expect((await requests.byId(answered))!.purgeAt!.getTime()).toBe(at(600).getTime());
    const expired = await pendingRequest({ expiresAt: at(-700) });
    const fresh = await pendingRequest();

    expect(await requests.purge(at(599), at(-600))).toEqual({ verdicts: 0, expired: 1 });
    expect(await requests.byId(expired)).toBeNull();
    expect(await requests.purge(at(600), at(-600))).toEqual({ verdicts: 1, expired: 0 });
    expect(await requests.byId(answered)).toEqual(
      expect.objectContaining({ status: 'verified', result: null, purgedAt: at(600) }),
    );
    expect((await requests.byId(fresh))!.status).toBe('pending');
  });

  it('keeps allowed claims as JSON text and reads them typed; plain-JSON rows from before sealing read as legacy', async () => {
    const { id } = await party({ 'driving-licence': ['categories', 'expiry_date'] });
    const [raw] = (await dataSource.query(`SELECT allowed_claims FROM relying_parties WHERE id = '${id}'`)) as {
      allowed_claims: string;
    }[];
    expect(JSON.parse(raw!.allowed_claims)).toEqual({ 'driving-licence': ['categories', 'expiry_date'] });
    expect((await parties.byId(id))!.allowedClaims).toEqual({ 'driving-licence': ['categories', 'expiry_date'] });

    const legacy = await pendingRequest({ requestPayload: { legacyPlain: { link: 'openid4vp://x' } } });
    const [stored] = (await dataSource.query(`SELECT request_payload FROM presentation_requests WHERE id = '${legacy}'`)) as {
      request_payload: string;
    }[];
    expect(stored!.request_payload).toBe('{"link":"openid4vp://x"}');
    expect((await requests.byId(legacy))!.requestPayload).toEqual({ legacyPlain: { link: 'openid4vp://x' } });
    const sealed = await pendingRequest();
    expect((await requests.byId(sealed))!.requestPayload).toBe('d1.sealed-payload');
  });
});
