import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { Database, openDataSource } from '../src/persistence/index.js';
import { AgencyEntity, CredentialOfferEntity, OfferRepository } from '../src/issuer/index.js';
import { AuthorizationSessionRepository } from '../src/issuer/authorization-server/authorization-session.repository.js';
import { DpopReplayRepository } from '../src/issuer/authorization-server/dpop-replay.repository.js';
import { NonceRepository } from '../src/issuer/credential-endpoint/nonce.repository.js';
import { DeferredRequestRepository } from '../src/issuer/credential-endpoint/deferred.repository.js';
import { NotificationRepository } from '../src/issuer/credential-endpoint/notification.repository.js';
import { testDatabase, type TestDatabase } from './support/test-app.js';

/**
 * The OID4VCI repositories' contract, on SQLite and on PostgreSQL, without a chain or an app: each
 * single-use step lets exactly one of many concurrent callers through, and the JSON columns hold typed
 * values (and JSON text in the database, as the migrations made them).
 */
describe('OID4VCI repositories: single use under concurrency', () => {
  let database: TestDatabase;
  let source: DataSource;
  let db: Database;
  const now = new Date();
  const later = new Date(now.getTime() + 60_000);
  const N = 12;

  beforeAll(async () => {
    database = await testDatabase('vcirepos');
    source = await openDataSource(database.config, entities, migrations);
    db = new Database(source);
    await db.use(undefined, (m) =>
      m.getRepository(AgencyEntity).insert({
        id: 'agency-1',
        slug: 'repo-test',
        name: 'Repository test',
        did: 'did:ethr:govchain:0x0000000000000000000000000000000000000001',
        controllerKeyId: 'k1',
        signingKeyId: 'k2',
        signingKid: null,
        serviceEndpoint: 'https://agency.example',
        status: 'active',
        createdAt: now,
      }),
    );
  });
  afterAll(async () => {
    await source?.destroy();
    await database?.drop();
  });

  const newOffer = async (overrides: Partial<CredentialOfferEntity> = {}) => {
    const offer: CredentialOfferEntity = {
      id: randomUUID(),
      agencyId: 'agency-1',
      typeId: 'driving-licence',
      configurationIds: ['driving-licence.sd_jwt', 'driving-licence.jwt_vc'],
      issuedConfigurations: [],
      claimsSealed: 'sealed',
      offerSealed: null,
      flow: 'pre-authorized_code',
      approval: null,
      preAuthCodeHash: randomUUID().replaceAll('-', '').padEnd(64, '0'),
      txCodeHash: null,
      txCodeFailures: 0,
      status: 'offered',
      expiresAt: later,
      createdAt: now,
      ...overrides,
    };
    await new OfferRepository(db).insert(offer);
    return offer;
  };
  const winners = (results: boolean[]) => results.filter(Boolean).length;

  it('keeps the JSON columns typed, and JSON text in the database', async () => {
    const offers = new OfferRepository(db);
    const offer = await newOffer();
    expect((await offers.byId(offer.id))?.configurationIds).toEqual(['driving-licence.sd_jwt', 'driving-licence.jwt_vc']);
    const [row] = (await source.query(
      `SELECT configuration_ids, issued_configurations FROM credential_offers WHERE id = ${database.kind === 'postgres' ? '$1' : '?'}`,
      [offer.id],
    )) as { configuration_ids: string; issued_configurations: string }[];
    expect(JSON.parse(row!.configuration_ids)).toEqual(offer.configurationIds);
    expect(JSON.parse(row!.issued_configurations)).toEqual([]);
  });

  it('redeems an offer once, and not after it expired', async () => {
    const offers = new OfferRepository(db);
    const offer = await newOffer();
    expect(winners(await Promise.all(Array.from({ length: N }, () => offers.redeem(offer.id, now))))).toBe(1);
    const expired = await newOffer({ expiresAt: now });
    expect(await offers.redeem(expired.id, now)).toBe(false);
  });

  it('reserves at most the allowed PIN attempts, each with its own count', async () => {
    const offers = new OfferRepository(db);
    const offer = await newOffer({ txCodeHash: 'h'.repeat(64) });
    const reserved = await Promise.all(Array.from({ length: N }, () => offers.reserveCodeAttempt(offer.id, 5)));
    expect(reserved.filter((count) => count !== undefined)).toHaveLength(5);
    expect((await offers.byId(offer.id))?.txCodeFailures).toBe(5);
    await offers.lock(offer.id);
    expect(await offers.reserveCodeAttempt(offer.id, 10)).toBeUndefined();
  });

  it('marks a configuration issued once from the same read (compare-and-set on the JSON list)', async () => {
    const offers = new OfferRepository(db);
    const offer = await newOffer();
    await offers.redeem(offer.id, now);
    const read = (await offers.byId(offer.id))!;
    const results = await Promise.all(Array.from({ length: N }, () => offers.markIssued(read, 'driving-licence.sd_jwt', false)));
    expect(winners(results)).toBe(1);
    const after = (await offers.byId(offer.id))!;
    expect(after.issuedConfigurations).toEqual(['driving-licence.sd_jwt']);
    // A stale read loses; a fresh one finishes the offer and erases its claims.
    expect(await offers.markIssued(read, 'driving-licence.jwt_vc', true)).toBe(false);
    expect(await offers.markIssued(after, 'driving-licence.jwt_vc', true)).toBe(true);
    expect(await offers.byId(offer.id)).toMatchObject({
      status: 'issued',
      claimsSealed: null,
      issuedConfigurations: ['driving-licence.sd_jwt', 'driving-licence.jwt_vc'],
    });
  });

  it('consumes a c_nonce once, and not after it expired', async () => {
    const nonces = new NonceRepository(db);
    await nonces.insert('nonce-once', later);
    expect(winners(await Promise.all(Array.from({ length: N }, () => nonces.consume('nonce-once', now))))).toBe(1);
    await nonces.insert('nonce-expired', now);
    expect(await nonces.consume('nonce-expired', now)).toBe(false);
    expect(await nonces.consume('never-issued', now)).toBe(false);
  });

  it('remembers a DPoP jti once, and a remembered jti is no usable c_nonce', async () => {
    const replay = new DpopReplayRepository(db);
    expect(winners(await Promise.all(Array.from({ length: N }, () => replay.rememberOnce('dpop:jti-1', later))))).toBe(1);
    expect(await replay.rememberOnce('dpop:jti-1', later)).toBe(false);
    expect(await new NonceRepository(db).consume('dpop:jti-1', now)).toBe(false);
  });

  it('steps an authorization session pushed → authorized → exchanged once each; keeps its identifiers typed', async () => {
    const sessions = new AuthorizationSessionRepository(db);
    const offer = await newOffer({ flow: 'authorization_code' });
    const id = randomUUID();
    await sessions.insert({
      id,
      offerId: offer.id,
      clientId: 'wallet',
      redirectUri: 'https://wallet.example/cb',
      state: null,
      codeChallenge: 'c'.repeat(43),
      requestUriHash: 'r'.repeat(64),
      requestExpiresAt: later,
      codeHash: null,
      codeExpiresAt: null,
      status: 'pushed',
      dpopJkt: null,
      credentialIdentifiers: ['driving-licence.sd_jwt'],
      createdAt: now,
    });
    const authorized = await Promise.all(
      Array.from({ length: N }, (_, i) => sessions.authorize(id, `${i}`.padEnd(64, 'x'), later)),
    );
    expect(winners(authorized)).toBe(1);
    const session = await sessions.byRequestUri('r'.repeat(64));
    expect(session?.credentialIdentifiers).toEqual(['driving-licence.sd_jwt']);
    expect(winners(await Promise.all(Array.from({ length: N }, () => sessions.exchangeCode(id))))).toBe(1);
  });

  it('completes a deferred request once, with its holder keys typed', async () => {
    const deferred = new DeferredRequestRepository(db);
    const offer = await newOffer({ approval: 'pending' });
    const holderKeys = [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }];
    await deferred.insert({
      transactionHash: 't'.repeat(64),
      offerId: offer.id,
      configurationId: 'driving-licence.sd_jwt',
      holderKeys,
      status: 'pending',
      createdAt: now,
    });
    expect((await deferred.byTransactionHash('t'.repeat(64)))?.holderKeys).toEqual(holderKeys);
    expect(winners(await Promise.all(Array.from({ length: N }, () => deferred.complete('t'.repeat(64)))))).toBe(1);
  });

  it('records a notification once, only for its own offer', async () => {
    const notifications = new NotificationRepository(db);
    const offer = await newOffer();
    const other = await newOffer();
    await notifications.insert({
      id: 'n-1',
      offerId: offer.id,
      credentialIds: ['c1', 'c2'],
      event: null,
      description: null,
      reportedAt: null,
    });
    expect(await notifications.report('n-1', other.id, 'credential_accepted', null, now)).toBe(false);
    const reports = await Promise.all(
      Array.from({ length: N }, () => notifications.report('n-1', offer.id, 'credential_accepted', null, now)),
    );
    expect(winners(reports)).toBe(1);
    expect(await notifications.byId('n-1')).toMatchObject({ event: 'credential_accepted', credentialIds: ['c1', 'c2'] });
  });
});
