import { randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../src/common/index.js';
import { RelyingPartyRepository } from '../../src/verifier/relying-parties/relying-party.repository.js';
import type { PresentationRequestEntity } from '../../src/verifier/relying-parties/relying-party.entity.js';
import { CALLERS, minutesFrom, openContractDatabase, race, winners, type ContractDatabase } from './contract-database.js';

/**
 * A presentation request takes exactly one answer: of many concurrent wallet responses (spread over
 * several connections, as replicas) exactly one completes it, and a request that expired unanswered is
 * gone. Against the repository alone, on each database.
 */
describe('completing a presentation request (repository contract)', () => {
  let database: ContractDatabase;
  let relyingPartyId: string;
  const parties = (caller: number) => new RelyingPartyRepository(database.replicas[caller % database.replicas.length]!);

  beforeAll(async () => {
    database = await openContractDatabase('oid4vp');
    relyingPartyId = randomUUID();
    const prefix = randomToken().slice(0, 12);
    await parties(0).insert({
      id: relyingPartyId,
      name: 'Contract Test Bank',
      purpose: 'Open an account',
      allowedClaims: JSON.stringify({ 'driving-licence': ['given_name'] }),
      clientIdPrefix: 'redirect_uri',
      signingKeyId: randomUUID(),
      certificate: null,
      webhookUrl: null,
      webhookSecretSealed: null,
      apiKeyPrefix: prefix,
      apiKeyHash: sha256Hex(randomToken()),
      createdAt: new Date(),
    });
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A pending request whose state, nonce and view token are kept as digests, as the verifier stores them. */
  async function storeRequest(expiresAt: Date): Promise<{ request: PresentationRequestEntity; state: string }> {
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
    };
    await parties(0).insertRequest(request);
    return { request, state };
  }

  it('lets exactly one of many concurrent responses complete a request', async () => {
    const now = new Date();
    const { request, state } = await storeRequest(minutesFrom(now, 5));
    expect((await parties(1).requestByState(sha256Hex(state)))?.id).toBe(request.id);
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      parties(caller).complete(
        request.id,
        caller % 2 === 0 ? 'verified' : 'rejected',
        `sealed-verdict-${caller}`,
        minutesFrom(now, 10),
      ),
    );
    expect(winners(results)).toBe(1);
    const winner = results.indexOf(true);
    const completed = await parties(2).request(request.id);
    expect(completed).toMatchObject({
      status: winner % 2 === 0 ? 'verified' : 'rejected',
      result: `sealed-verdict-${winner}`,
      // The request object and the response decryption key are of no use once answered.
      requestObject: null,
      encryptionKeySealed: null,
    });
    expect(await parties(0).complete(request.id, 'verified', 'replayed', minutesFrom(now, 10))).toBe(false);
  });

  it('forgets a request that expired unanswered, so a late response completes nothing', async () => {
    const now = new Date();
    const { request } = await storeRequest(minutesFrom(now, -2));
    const live = await storeRequest(minutesFrom(now, 5));
    const purged = await parties(1).purge(now, minutesFrom(now, -1));
    expect(purged.expired).toBeGreaterThanOrEqual(1);
    expect(await parties(0).request(request.id)).toBeNull();
    const late = await race(database.replicas, 4, (_, caller) =>
      parties(caller).complete(request.id, 'verified', 'late', minutesFrom(now, 10)),
    );
    expect(winners(late)).toBe(0);
    expect((await parties(2).request(live.request.id))?.status).toBe('pending');
  });

  it('purges a verdict when its time comes, and a purged verdict is not completed again', async () => {
    const now = new Date();
    const { request } = await storeRequest(minutesFrom(now, 5));
    expect(await parties(0).complete(request.id, 'verified', 'sealed-verdict', minutesFrom(now, 1))).toBe(true);
    await parties(1).purge(minutesFrom(now, 2), minutesFrom(now, -60));
    expect(await parties(2).request(request.id)).toMatchObject({ status: 'verified', result: null });
    expect(await parties(0).complete(request.id, 'verified', 'again', minutesFrom(now, 10))).toBe(false);
  });
});
