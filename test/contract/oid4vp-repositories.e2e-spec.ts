import { randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../src/common/index.js';
import { RelyingPartyRepository } from '../../src/verifier/relying-parties/relying-party.repository.js';
import { PresentationRequestRepository } from '../../src/verifier/presentations/presentation-request.repository.js';
import type { PresentationRequestEntity } from '../../src/verifier/presentations/presentation-request.entity.js';
import { CALLERS, minutesFrom, openContractDatabase, race, winners, type ContractDatabase } from './contract-database.js';

/**
 * The verifier's single-use values, against its repositories alone on each database: a presentation
 * request takes exactly one answer (of many concurrent wallet responses, spread over several connections as
 * replicas, exactly one completes it), a request that expired unanswered is gone, and a relying party's API
 * key is revoked once.
 */
describe('OID4VP single-use values (repository contract)', () => {
  let database: ContractDatabase;
  let relyingPartyId: string;
  let apiKeyPrefix: string;
  const replica = (caller: number) => database.replicas[caller % database.replicas.length]!;
  const requests = (caller: number) => new PresentationRequestRepository(replica(caller));
  const parties = (caller: number) => new RelyingPartyRepository(replica(caller));

  beforeAll(async () => {
    database = await openContractDatabase('oid4vp');
    relyingPartyId = randomUUID();
    apiKeyPrefix = randomToken().slice(0, 12);
    await parties(0).insert({
      id: relyingPartyId,
      name: 'Contract Test Bank',
      purpose: 'Open an account',
      allowedClaims: { 'driving-licence': ['given_name'] },
      clientIdPrefix: 'redirect_uri',
      signingKeyId: randomUUID(),
      certificate: null,
      webhookUrl: null,
      webhookSecretSealed: null,
      apiKeyPrefix,
      apiKeyHash: sha256Hex(randomToken()),
      createdAt: new Date(),
    });
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A pending request whose state, nonce and view token are kept as digests, as the verifier stores them. */
  async function storeRequest(
    expiresAt: Date,
    overrides: Partial<PresentationRequestEntity> = {},
  ): Promise<{ request: PresentationRequestEntity; state: string }> {
    const state = randomToken();
    const request: PresentationRequestEntity = {
      id: randomUUID(),
      relyingPartyId,
      clientId: 'redirect_uri:https://verifier.example/response',
      requestPayload: 'sealed-payload',
      requestObject: 'sealed-request-object',
      stateHash: sha256Hex(state),
      nonceHash: sha256Hex(randomToken()),
      encryptionKeySealed: 'sealed-ephemeral-key',
      status: 'pending',
      result: null,
      purgeAt: null,
      purgedAt: null,
      viewTokenHash: sha256Hex(randomToken()),
      expiresAt,
      createdAt: new Date(),
      completedAt: null,
      dataSharingPermissions: null,
      purpose: null,
      ...overrides,
    };
    await requests(0).insert(request);
    return { request, state };
  }

  describe('completing a presentation request', () => {
    it('lets exactly one of many concurrent responses complete a request', async () => {
      const now = new Date();
      const { request, state } = await storeRequest(minutesFrom(now, 5));
      expect((await requests(1).byStateHash(sha256Hex(state)))?.id).toBe(request.id);
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        requests(caller).complete(
          request.id,
          caller % 2 === 0 ? 'verified' : 'rejected',
          `sealed-verdict-${caller}`,
          now,
          minutesFrom(now, 10),
        ),
      );
      expect(winners(results)).toBe(1);
      const winner = results.indexOf(true);
      const completed = await requests(2).byId(request.id);
      expect(completed?.completedAt?.getTime()).toBe(now.getTime());
      expect(completed).toMatchObject({
        status: winner % 2 === 0 ? 'verified' : 'rejected',
        result: `sealed-verdict-${winner}`,
        // The request object and the response decryption key are of no use once answered.
        requestObject: null,
        encryptionKeySealed: null,
      });
      expect(await requests(0).complete(request.id, 'verified', 'replayed', now, minutesFrom(now, 10))).toBe(false);
    });

    it('forgets a request that expired unanswered, so a late response completes nothing', async () => {
      const now = new Date();
      const { request } = await storeRequest(minutesFrom(now, -2));
      const live = await storeRequest(minutesFrom(now, 5));
      const purged = await requests(1).purge(now, minutesFrom(now, -1), minutesFrom(now, -60 * 24 * 30));
      expect(purged.expired).toBeGreaterThanOrEqual(1);
      expect(await requests(0).byId(request.id)).toBeNull();
      const late = await race(database.replicas, 4, (_, caller) =>
        requests(caller).complete(request.id, 'verified', 'late', now, minutesFrom(now, 10)),
      );
      expect(winners(late)).toBe(0);
      expect((await requests(2).byId(live.request.id))?.status).toBe('pending');
    });

    it('purges a verdict when its time comes, and a purged verdict is not completed again', async () => {
      const now = new Date();
      const { request } = await storeRequest(minutesFrom(now, 5));
      expect(await requests(0).complete(request.id, 'verified', 'sealed-verdict', now, minutesFrom(now, 1))).toBe(true);
      await requests(1).purge(minutesFrom(now, 2), minutesFrom(now, -60), minutesFrom(now, -60 * 24 * 30));
      expect(await requests(2).byId(request.id)).toMatchObject({ status: 'verified', result: null });
      expect(await requests(0).complete(request.id, 'verified', 'again', now, minutesFrom(now, 10))).toBe(false);
      // The row itself goes once its purge is older than the retention.
      await requests(1).purge(minutesFrom(now, 3), minutesFrom(now, -60), minutesFrom(now, 1));
      expect(await requests(2).byId(request.id)).toMatchObject({ status: 'verified' });
      expect(
        (await requests(1).purge(minutesFrom(now, 3), minutesFrom(now, -60), minutesFrom(now, 2))).deleted,
      ).toBeGreaterThanOrEqual(1);
      expect(await requests(2).byId(request.id)).toBeNull();
    });

    it('moves a verdict purge earlier on first read, never later', async () => {
      const now = new Date();
      const { request } = await storeRequest(minutesFrom(now, 5));
      expect(await requests(0).complete(request.id, 'verified', 'sealed-verdict', now, minutesFrom(now, 60))).toBe(true);
      await requests(1).purgeSoon(request.id, minutesFrom(now, 1));
      await requests(2).purgeSoon(request.id, minutesFrom(now, 30));
      expect((await requests(0).byId(request.id))?.purgeAt?.getTime()).toBe(minutesFrom(now, 1).getTime());
    });
  });

  describe('revoking a relying party API key', () => {
    it('lets exactly one of many concurrent revocations report it, and the key is no longer live', async () => {
      // The guard's prepared statement reads the party exactly as TypeORM hydrates it.
      const live = await parties(1).byLiveApiKey(apiKeyPrefix);
      expect(live?.party.id).toBe(relyingPartyId);
      expect(live?.party).toEqual(await parties(1).byId(relyingPartyId));
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        parties(caller).revokeApiKey(relyingPartyId, apiKeyPrefix, new Date()),
      );
      expect(winners(results)).toBe(1);
      expect(await parties(2).byLiveApiKey(apiKeyPrefix)).toBeNull();
      expect((await parties(0).apiKeys(relyingPartyId))[0]?.revokedAt).toBeInstanceOf(Date);
    });
  });

  describe('typed columns', () => {
    /** One column of a row, as the database holds it: no entity, no transformer. */
    const rawColumn = async (table: string, column: string, id: string): Promise<unknown> => {
      const rows = (await database.db.dataSource.query(
        `SELECT ${column} AS value FROM ${table} WHERE id = ${database.kind === 'postgres' ? '$1' : '?'}`,
        [id],
      )) as { value: unknown }[];
      return rows[0]?.value;
    };

    it('keeps allowed claims as JSON text and reads them typed', async () => {
      expect(JSON.parse((await rawColumn('relying_parties', 'allowed_claims', relyingPartyId)) as string)).toEqual({
        'driving-licence': ['given_name'],
      });
      expect((await parties(1).byId(relyingPartyId))?.allowedClaims).toEqual({ 'driving-licence': ['given_name'] });
    });

    it('reads plain-JSON rows from before sealing as legacy, sealed rows as their text', async () => {
      const now = new Date();
      const legacy = await storeRequest(minutesFrom(now, 5), { requestPayload: { legacyPlain: { link: 'openid4vp://x' } } });
      expect(await rawColumn('presentation_requests', 'request_payload', legacy.request.id)).toBe('{"link":"openid4vp://x"}');
      expect((await requests(1).byId(legacy.request.id))?.requestPayload).toEqual({ legacyPlain: { link: 'openid4vp://x' } });
      const sealed = await storeRequest(minutesFrom(now, 5));
      expect((await requests(2).byId(sealed.request.id))?.requestPayload).toBe('sealed-payload');
    });
  });
});
