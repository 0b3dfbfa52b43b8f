import { randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../src/common/index.js';
import { RefreshTokenRepository } from '../../src/issuer/authorization-server/refresh-token.repository.js';
import type { Oid4vciRefreshTokenEntity } from '../../src/issuer/authorization-server/refresh-token.entity.js';
import { DeferredRequestRepository } from '../../src/issuer/credential-endpoint/deferred.repository.js';
import { OfferRepository } from '../../src/issuer/offers/offer.repository.js';
import type { CredentialOfferEntity } from '../../src/issuer/offers/offer.entity.js';
import type { Database } from '../../src/persistence/index.js';
import {
  CALLERS,
  insertAgency,
  minutesFrom,
  openContractDatabase,
  race,
  winners,
  type ContractDatabase,
} from './contract-database.js';

/**
 * Refresh-token rotation and the re-delivery copies of deferred responses (ADR 18), against the repositories
 * alone on each database, spread over several connections as replicas: of many concurrent refreshes with
 * one token exactly one rotates it (and exactly one successor exists); revocation and purges touch what
 * they should and nothing else.
 */
describe('OID4VCI refresh tokens and re-delivery (repository contract)', () => {
  let database: ContractDatabase;
  let agencyId: string;
  const on =
    <R>(make: (db: Database) => R) =>
    (caller: number): R =>
      make(database.replicas[caller % database.replicas.length]!);
  const refreshTokens = on((db) => new RefreshTokenRepository(db));
  /**
   * Concurrent refreshes: a rotation is one transaction, which on SQLite holds the file's write lock across
   * awaits, so they race on one connection there, as the service has one per process (a second connection of
   * the same process would wait on a lock only its own event loop can release; separate processes wait on
   * SQLite's busy timeout instead). On PostgreSQL they are spread over the replicas' pools.
   */
  const racing = (caller: number) => refreshTokens(database.kind === 'sqlite' ? 0 : caller);
  const deferred = on((db) => new DeferredRequestRepository(db));

  /** An offer (driving licence, by pre-authorized code) and one deferred request of it, pending, with a holder key. */
  const pendingDeferred = async (offer: Partial<CredentialOfferEntity>) => {
    const now = new Date();
    const offerId = randomUUID();
    await new OfferRepository(database.db).insert({
      id: offerId,
      agencyId,
      typeId: 'driving-licence',
      configurationIds: ['driving-licence.sd_jwt'],
      issuedConfigurations: [],
      claimsSealed: null,
      flow: 'pre-authorized_code',
      approval: null,
      offerSealed: null,
      preAuthCodeHash: sha256Hex(randomToken()),
      txCodeHash: null,
      txCodeFailures: 0,
      status: 'offered',
      expiresAt: minutesFrom(now, 60),
      createdAt: now,
      ...offer,
    });
    const transactionHash = sha256Hex(randomToken());
    await deferred(0).insert({
      transactionHash,
      offerId,
      configurationId: 'driving-licence.sd_jwt',
      holderKeys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }],
      status: 'pending',
      createdAt: now,
    });
    return { transactionHash, offerId };
  };

  beforeAll(async () => {
    database = await openContractDatabase('refresh');
    agencyId = await insertAgency(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  const token = (familyId: string, expiresAt: Date): Oid4vciRefreshTokenEntity => ({
    tokenHash: sha256Hex(randomToken()),
    familyId,
    offerId: randomUUID(),
    dpopJkt: null,
    clientId: null,
    credentialIdentifiers: ['driving-licence.sd_jwt'],
    previousHash: null,
    status: 'active',
    expiresAt,
    createdAt: new Date(),
  });

  it('lets exactly one of many concurrent refreshes rotate a token, with exactly one successor', async () => {
    const now = new Date();
    const familyId = randomUUID();
    // A family made to a named client (ADR 50): its successor keeps the client.
    const first = { ...token(familyId, minutesFrom(now, 10)), clientId: `did:jwk:${'e'.repeat(700)}` };
    await refreshTokens(0).insert(first);
    const successors = Array.from({ length: CALLERS }, () => ({ ...first, tokenHash: sha256Hex(randomToken()) }));
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      racing(caller).rotate(first.tokenHash, successors[caller]!, new Date()),
    );
    expect(winners(results)).toBe(1);
    expect((await refreshTokens(1).byHash(first.tokenHash))?.status).toBe('rotated');
    const stored = await Promise.all(successors.map((successor) => refreshTokens(2).byHash(successor.tokenHash)));
    expect(stored.filter(Boolean)).toHaveLength(1);
    expect(stored.find(Boolean)).toMatchObject({
      familyId,
      status: 'active',
      credentialIdentifiers: ['driving-licence.sd_jwt'],
      clientId: first.clientId,
    });
    // A rotated token rotates no more.
    expect(await refreshTokens(0).rotate(first.tokenHash, { ...first, tokenHash: sha256Hex(randomToken()) }, new Date())).toBe(
      false,
    );
  });

  it('lets a retry that began before another retry stored its successor not replace that successor', async () => {
    const now = new Date();
    const familyId = randomUUID();
    const first = token(familyId, minutesFrom(now, 10));
    await refreshTokens(0).insert(first);
    // The successor the wallet lost was made two seconds ago; two retries that overlapped began a second ago, the
    // second 1 ms after the first, and the second runs after the first finished.
    const lost = {
      ...first,
      tokenHash: sha256Hex(randomToken()),
      previousHash: first.tokenHash,
      createdAt: new Date(Date.now() - 2_000),
    };
    expect(await refreshTokens(0).rotate(first.tokenHash, lost, new Date())).toBe(true);
    const began = Date.now() - 1_000;
    const retry = (offsetMs: number) => ({ ...lost, tokenHash: sha256Hex(randomToken()), createdAt: new Date(began + offsetMs) });
    const [earlier, later] = [retry(0), retry(1)];
    expect(await refreshTokens(0).replaceUnusedSuccessor(first.tokenHash, earlier, minutesFrom(now, -2), new Date())).toBe(true);
    expect(await refreshTokens(1).replaceUnusedSuccessor(first.tokenHash, later, minutesFrom(now, -2), new Date())).toBe(false);
    expect((await refreshTokens(2).byHash(earlier.tokenHash))?.status).toBe('active');
    expect(await refreshTokens(2).byHash(later.tokenHash)).toBeFalsy();
  });

  it('replaces an unused successor for a retried refresh exactly once, and never a used or old one', async () => {
    const now = new Date();
    const familyId = randomUUID();
    const first = token(familyId, minutesFrom(now, 10));
    await refreshTokens(0).insert(first);
    const lost = { ...first, tokenHash: sha256Hex(randomToken()), previousHash: first.tokenHash, createdAt: new Date() };
    expect(await refreshTokens(0).rotate(first.tokenHash, lost, new Date())).toBe(true);
    // The wallet never got `lost`: its concurrent retries with the first token replace it exactly once.
    const retries = Array.from({ length: CALLERS }, () => ({
      ...lost,
      tokenHash: sha256Hex(randomToken()),
      createdAt: new Date(),
    }));
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      racing(caller).replaceUnusedSuccessor(first.tokenHash, retries[caller]!, minutesFrom(now, -2), new Date()),
    );
    expect(winners(results)).toBe(1);
    expect((await refreshTokens(1).byHash(lost.tokenHash))?.status).toBe('replaced');
    const stored = await Promise.all(retries.map((retry) => refreshTokens(2).byHash(retry.tokenHash)));
    expect(stored.filter(Boolean)).toEqual([
      expect.objectContaining({ familyId, status: 'active', previousHash: first.tokenHash }),
    ]);
    const live = stored.find(Boolean)!;
    // Once the replacement is used, the first token is reuse: nothing unused is left to replace.
    const next = { ...live, tokenHash: sha256Hex(randomToken()), previousHash: live.tokenHash, createdAt: new Date() };
    expect(await refreshTokens(0).rotate(live.tokenHash, next, new Date())).toBe(true);
    const late = { ...lost, tokenHash: sha256Hex(randomToken()) };
    expect(await refreshTokens(1).replaceUnusedSuccessor(first.tokenHash, late, minutesFrom(now, -2), new Date())).toBe(false);
    // Nor is a successor made before the grace replaced.
    expect(await refreshTokens(1).replaceUnusedSuccessor(live.tokenHash, late, minutesFrom(now, 5), new Date())).toBe(false);
    expect(await refreshTokens(2).byHash(late.tokenHash)).toBeNull();
  });

  it('keeps the token when its successor cannot be stored: the rotation and the successor are one transaction', async () => {
    const now = new Date();
    const first = token(randomUUID(), minutesFrom(now, 10));
    const other = token(randomUUID(), minutesFrom(now, 10));
    for (const row of [first, other]) await refreshTokens(0).insert(row);
    // The successor's INSERT fails after the UPDATE (here a digest already stored; a kill -9 in the real case):
    // the token used to be left rotated with no successor, and the family without a live token.
    const clashing = { ...first, tokenHash: other.tokenHash, previousHash: first.tokenHash };
    await expect(refreshTokens(0).rotate(first.tokenHash, clashing, now)).rejects.toThrow();
    expect((await refreshTokens(1).byHash(first.tokenHash))?.status).toBe('active');
    const successor = { ...first, tokenHash: sha256Hex(randomToken()), previousHash: first.tokenHash };
    expect(await refreshTokens(2).rotate(first.tokenHash, successor, now)).toBe(true);
    expect((await refreshTokens(0).byHash(successor.tokenHash))?.status).toBe('active');
  });

  it('rotates no expired token, revokes a whole family (later members too) and no other, and purges families past their end', async () => {
    const now = new Date();
    const expired = token(randomUUID(), minutesFrom(now, -1));
    await refreshTokens(0).insert(expired);
    expect(await refreshTokens(1).rotate(expired.tokenHash, { ...expired, tokenHash: sha256Hex(randomToken()) }, now)).toBe(
      false,
    );

    const familyId = randomUUID();
    const members = [token(familyId, minutesFrom(now, 10)), token(familyId, minutesFrom(now, 10))];
    const other = token(randomUUID(), minutesFrom(now, 10));
    for (const row of [...members, other]) await refreshTokens(0).insert(row);
    await refreshTokens(1).revokeFamily(familyId);
    for (const row of members) expect((await refreshTokens(2).byHash(row.tokenHash))?.status).toBe('revoked');
    expect((await refreshTokens(2).byHash(other.tokenHash))?.status).toBe('active');
    expect(
      await refreshTokens(0).rotate(members[0]!.tokenHash, { ...members[0]!, tokenHash: sha256Hex(randomToken()) }, now),
    ).toBe(false);

    // A successor stored after its family's revocation (a reuse between a rotation's UPDATE and INSERT) is
    // dead as well: read as revoked, and a rotation into a revoked family fails and revokes its successor.
    const late = { ...members[0]!, tokenHash: sha256Hex(randomToken()), status: 'active' as const };
    await refreshTokens(0).insert(late);
    expect((await refreshTokens(1).byHash(late.tokenHash))?.status).toBe('revoked');
    const afterLate = { ...late, tokenHash: sha256Hex(randomToken()), previousHash: late.tokenHash };
    expect(await refreshTokens(2).rotate(late.tokenHash, afterLate, now)).toBe(false);
    expect((await refreshTokens(0).byHash(afterLate.tokenHash))?.status).toBe('revoked');
    expect((await refreshTokens(0).byHash(other.tokenHash))?.status).toBe('active');

    await refreshTokens(1).purgeExpired(now);
    expect(await refreshTokens(2).byHash(expired.tokenHash)).toBeNull();
    expect(await refreshTokens(2).byHash(other.tokenHash)).not.toBeNull();
  });

  it('keeps a sealed deferred response until the notification or the end of its window', async () => {
    const now = new Date();
    const issued = async (redeliverUntil: Date) => {
      const { transactionHash, offerId } = await pendingDeferred({
        issuedConfigurations: ['driving-licence.sd_jwt'],
        approval: 'approved',
        status: 'issued',
      });
      const notificationId = randomUUID();
      const delivery = { holderJkt: 'jkt', responseSealed: 'sealed-response', notificationId, redeliverUntil };
      expect(await deferred(1).complete(transactionHash, undefined, delivery)).toBe(true);
      expect(await deferred(1).complete(transactionHash, undefined, { ...delivery, responseSealed: 'another' })).toBe(false);
      return { transactionHash, offerId, notificationId };
    };
    const notified = await issued(minutesFrom(now, 10));
    const lapsed = await issued(minutesFrom(now, -1));
    const kept = await issued(minutesFrom(now, 10));
    expect(await deferred(0).byTransactionHash(kept.transactionHash)).toMatchObject({
      status: 'issued',
      responseSealed: 'sealed-response',
      notificationId: kept.notificationId,
      holderJkt: 'jkt',
    });

    // Another offer's report on the notification id ends nothing; the offer's own does.
    await deferred(1).endRedelivery(notified.notificationId, randomUUID());
    expect((await deferred(2).byTransactionHash(notified.transactionHash))?.responseSealed).toBe('sealed-response');
    await deferred(1).endRedelivery(notified.notificationId, notified.offerId);
    expect(await deferred(2).byTransactionHash(notified.transactionHash)).toMatchObject({
      responseSealed: null,
      redeliverUntil: null,
    });

    await deferred(0).purgeRedelivery(now);
    expect((await deferred(1).byTransactionHash(lapsed.transactionHash))?.responseSealed).toBeNull();
    expect((await deferred(1).byTransactionHash(kept.transactionHash))?.responseSealed).toBe('sealed-response');
  });

  it('forgets the holder keys of deferred requests whose application was refused, and only those', async () => {
    const pendingOf = async (approval: 'pending' | 'approved' | 'rejected') =>
      (await pendingDeferred({ approval, status: 'redeemed' })).transactionHash;
    const refused = await pendingOf('rejected');
    const waiting = await pendingOf('pending');
    const approved = await pendingOf('approved');

    await deferred(1).forgetRefusedHolderKeys();
    expect(await deferred(2).byTransactionHash(refused)).toMatchObject({ status: 'pending', holderKeys: [] });
    for (const kept of [waiting, approved])
      expect((await deferred(2).byTransactionHash(kept))?.holderKeys).toEqual([{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }]);
  });
});
