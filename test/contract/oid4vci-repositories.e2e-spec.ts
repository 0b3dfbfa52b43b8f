import { randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../src/common/index.js';
import { dpopReplayKey } from '../../src/oauth/index.js';
import { codeAttempt } from '../../src/oid4vci/index.js';
import { OfferRepository } from '../../src/issuer/offers/offer.repository.js';
import type { CredentialOfferEntity } from '../../src/issuer/offers/offer.entity.js';
import { NonceRepository } from '../../src/issuer/credential-endpoint/nonce.repository.js';
import { DeferredRequestRepository } from '../../src/issuer/credential-endpoint/deferred.repository.js';
import { NotificationRepository } from '../../src/issuer/credential-endpoint/notification.repository.js';
import { DpopReplayRepository } from '../../src/issuer/authorization-server/dpop-replay.repository.js';
import { AuthorizationSessionRepository } from '../../src/issuer/authorization-server/authorization-session.repository.js';
import type { AuthorizationSessionEntity } from '../../src/issuer/authorization-server/authorization-session.entity.js';
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
 * The OID4VCI issuer's single-use values, against its repositories alone on each database: of many
 * concurrent callers (spread over several connections, as replicas) exactly one wins; what has expired is
 * refused. (That secrets are stored as digests is `secrets-at-rest.e2e-spec.ts`.)
 */
describe('OID4VCI single-use values (repository contract)', () => {
  let database: ContractDatabase;
  let agencyId: string;
  /** The repository `make` builds, on the replica a caller is spread to. */
  const on =
    <R>(make: (db: Database) => R) =>
    (caller: number): R =>
      make(database.replicas[caller % database.replicas.length]!);
  const offers = on((db) => new OfferRepository(db));
  const nonces = on((db) => new NonceRepository(db));
  const dpop = on((db) => new DpopReplayRepository(db));
  const sessions = on((db) => new AuthorizationSessionRepository(db));
  const deferred = on((db) => new DeferredRequestRepository(db));
  const notifications = on((db) => new NotificationRepository(db));
  /** One column of the rows matching `where` (column = value), as the database holds it: no entity, no transformer. */
  const rawColumn = async (table: string, column: string, where: string, value: string): Promise<unknown[]> => {
    const rows = (await database.db.dataSource.query(
      `SELECT ${column} AS value FROM ${table} WHERE ${where} = ${database.kind === 'postgres' ? '$1' : '?'}`,
      [value],
    )) as { value: unknown }[];
    return rows.map((row) => row.value);
  };

  beforeAll(async () => {
    database = await openContractDatabase('oid4vci');
    agencyId = await insertAgency(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** Stores an offer whose grant secret (pre-authorized code) and optional PIN are kept as digests. */
  async function storeOffer(options: {
    expiresAt: Date;
    pin?: string;
    flow?: CredentialOfferEntity['flow'];
    configurationIds?: string[];
  }): Promise<{ offer: CredentialOfferEntity; code: string }> {
    const id = randomUUID();
    const code = randomToken();
    const offer: CredentialOfferEntity = {
      id,
      agencyId,
      typeId: 'driving-licence',
      configurationIds: options.configurationIds ?? ['driving-licence-sd-jwt'],
      issuedConfigurations: [],
      claimsSealed: 'sealed-claims',
      flow: options.flow ?? 'pre-authorized_code',
      approval: null,
      offerSealed: null,
      preAuthCodeHash: sha256Hex(code),
      txCodeHash: options.pin ? sha256Hex(`${id}:${options.pin}`) : null,
      txCodeFailures: 0,
      status: 'offered',
      expiresAt: options.expiresAt,
      createdAt: new Date(),
    };
    await offers(0).insert(offer);
    return { offer, code };
  }

  describe('redeeming a pre-authorized code', () => {
    it('lets exactly one of many concurrent redemptions win', async () => {
      const now = new Date();
      const { offer, code } = await storeOffer({ expiresAt: minutesFrom(now, 5) });
      const found = await offers(1).byCodeHash(sha256Hex(code));
      expect(found?.id).toBe(offer.id);
      const results = await race(database.replicas, CALLERS, (_, caller) => offers(caller).redeem(offer.id, now));
      expect(winners(results)).toBe(1);
      expect((await offers(2).byId(offer.id))?.status).toBe('redeemed');
      expect(await offers(0).redeem(offer.id, now)).toBe(false);
    });

    it('refuses a code whose offer has expired', async () => {
      const now = new Date();
      const { offer } = await storeOffer({ expiresAt: minutesFrom(now, -1) });
      const results = await race(database.replicas, 4, (_, caller) => offers(caller).redeem(offer.id, now));
      expect(winners(results)).toBe(0);
      expect((await offers(0).byId(offer.id))?.status).toBe('offered');
    });
  });

  describe('a PIN attempt', () => {
    /**
     * An attempt as the token endpoint makes it: the code compared after its attempt was reserved, in one
     * transaction. On SQLite through one connection, as the service has one per process: a transaction holds the
     * file's write lock across awaits, so a second connection of the same process would wait on a lock only its
     * own event loop can release (separate processes, cluster workers, wait on SQLite's busy timeout instead).
     */
    const attempt = (caller: number, offerId: string, maxAttempts: number, right = false) =>
      offers(database.kind === 'sqlite' ? 0 : caller).attemptCode(offerId, maxAttempts, (attemptsUsed) =>
        codeAttempt(attemptsUsed, right, maxAttempts),
      );

    it('hands out no more attempts than allowed, however many guesses arrive at once', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), pin: '493817' });
      const maxAttempts = 3;
      const results = await race(database.replicas, CALLERS, (_, caller) => attempt(caller, offer.id, maxAttempts));
      expect(results.filter((result) => result.outcome !== 'locked')).toHaveLength(maxAttempts);
      expect(results.filter((result) => result.outcome === 'locked_now')).toHaveLength(1);
      expect(await offers(0).byId(offer.id)).toEqual(expect.objectContaining({ txCodeFailures: maxAttempts, status: 'locked' }));
      expect((await attempt(1, offer.id, maxAttempts, true)).outcome).toBe('locked');
    });

    it('lets exactly one caller take the last attempt', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), pin: '493817' });
      const results = await race(database.replicas, CALLERS, (_, caller) => attempt(caller, offer.id, 1));
      expect(results.filter((result) => result.outcome !== 'locked')).toEqual([{ outcome: 'locked_now' }]);
    });

    it('gives back the attempt of a right code, and keeps nothing of an attempt that failed before its commit', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), pin: '493817' });
      expect(await attempt(0, offer.id, 5)).toEqual({ outcome: 'wrong', triesLeft: 4 });
      expect(await attempt(1, offer.id, 5, true)).toEqual({ outcome: 'accepted' });
      expect((await offers(2).byId(offer.id))?.txCodeFailures).toBe(1);
      // The process dies after the reservation, before the comparison's outcome is written (here: the comparison
      // throws): the reservation goes with the rest of the transaction, where it used to stay counted for good.
      await expect(
        offers(0).attemptCode(offer.id, 5, () => {
          throw new Error('killed between the reservation and its outcome');
        }),
      ).rejects.toThrow('killed');
      expect((await offers(2).byId(offer.id))?.txCodeFailures).toBe(1);
    });

    it('refuses attempts on an offer that is locked or already redeemed', async () => {
      const now = new Date();
      const locked = await storeOffer({ expiresAt: minutesFrom(now, 5), pin: '111111' });
      expect(await attempt(0, locked.offer.id, 1)).toEqual({ outcome: 'locked_now' });
      expect((await attempt(1, locked.offer.id, 5, true)).outcome).toBe('locked');
      expect(await offers(1).redeem(locked.offer.id, now)).toBe(false);
      const redeemed = await storeOffer({ expiresAt: minutesFrom(now, 5), pin: '222222' });
      expect(await offers(0).redeem(redeemed.offer.id, now)).toBe(true);
      expect((await attempt(2, redeemed.offer.id, 5, true)).outcome).toBe('locked');
    });
  });

  describe('issuing under a redeemed offer', () => {
    it('keeps the JSON columns typed, and JSON text in the database', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5) });
      expect((await offers(1).byId(offer.id))?.configurationIds).toEqual(['driving-licence-sd-jwt']);
      const [text] = await rawColumn('credential_offers', 'configuration_ids', 'id', offer.id);
      expect(JSON.parse(text as string)).toEqual(['driving-licence-sd-jwt']);
      const [issued] = await rawColumn('credential_offers', 'issued_configurations', 'id', offer.id);
      expect(JSON.parse(issued as string)).toEqual([]);
    });

    it('lets exactly one concurrent request claim a configuration (compare-and-set on the list as read)', async () => {
      const now = new Date();
      const { offer } = await storeOffer({ expiresAt: minutesFrom(now, 5) });
      expect(await offers(0).redeem(offer.id, now)).toBe(true);
      const read = (await offers(1).byId(offer.id))!;
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        offers(caller).markIssued(read, 'driving-licence-sd-jwt', () => false),
      );
      expect(winners(results)).toBe(1);
      const after = (await offers(2).byId(offer.id))!;
      expect(after.issuedConfigurations).toEqual(['driving-licence-sd-jwt']);
      // The same configuration again, from the stale read or a fresh one: refused.
      expect(await offers(0).markIssued(read, 'driving-licence-sd-jwt', () => true)).toBe(false);
      expect(await offers(1).markIssued(after, 'driving-licence-sd-jwt', () => true)).toBe(false);
      // Another configuration from the stale read: the list is read again and the claim finishes the offer.
      const finishedWith: string[][] = [];
      const finishes = (issuedAfter: readonly string[]) => (finishedWith.push([...issuedAfter]), issuedAfter.length === 2);
      expect(await offers(0).markIssued(read, 'driving-licence-jwt-vc', finishes)).toBe(true);
      expect(finishedWith.at(-1)).toEqual(['driving-licence-sd-jwt', 'driving-licence-jwt-vc']);
      expect(await offers(2).byId(offer.id)).toMatchObject({
        status: 'issued',
        issuedConfigurations: ['driving-licence-sd-jwt', 'driving-licence-jwt-vc'],
        claimsSealed: null,
      });
      // A finished offer takes no further claim.
      expect(await offers(1).markIssued(read, 'driving-licence-other', () => false)).toBe(false);
    });

    it('lets parallel requests for different configurations of one offer all succeed, and the last one finish it', async () => {
      const now = new Date();
      const configurations = ['a-sd-jwt', 'b-jwt-vc', 'c-sd-jwt', 'd-jwt-vc'];
      const { offer } = await storeOffer({ expiresAt: minutesFrom(now, 5), configurationIds: configurations });
      expect(await offers(0).redeem(offer.id, now)).toBe(true);
      const read = (await offers(1).byId(offer.id))!;
      const results = await race(database.replicas, configurations.length, (_, caller) =>
        offers(caller).markIssued(read, configurations[caller]!, (issuedAfter) => issuedAfter.length === configurations.length),
      );
      expect(winners(results)).toBe(configurations.length);
      const after = (await offers(2).byId(offer.id))!;
      expect([...after.issuedConfigurations].sort()).toEqual(configurations);
      expect(after).toMatchObject({ status: 'issued', claimsSealed: null });
    });
  });

  describe('consuming a c_nonce', () => {
    it('lets exactly one of many concurrent proofs consume a nonce', async () => {
      const now = new Date();
      const nonce = randomToken();
      await nonces(0).insert(nonce, minutesFrom(now, 5));
      const results = await race(database.replicas, CALLERS, (_, caller) => nonces(caller).consume(nonce, now));
      expect(winners(results)).toBe(1);
      expect(await nonces(0).consume(nonce, now)).toBe(false);
    });

    it('stores only the digest of a nonce', async () => {
      const nonce = randomToken();
      await nonces(0).insert(nonce, minutesFrom(new Date(), 5));
      expect(await rawColumn('oid4vci_nonces', 'nonce_hash', 'nonce_hash', sha256Hex(nonce))).toHaveLength(1);
      expect(await rawColumn('oid4vci_nonces', 'nonce_hash', 'nonce_hash', nonce)).toHaveLength(0);
    });

    it('refuses an expired nonce and one it never handed out', async () => {
      const now = new Date();
      const expired = randomToken();
      await nonces(0).insert(expired, minutesFrom(now, -1));
      expect(winners(await race(database.replicas, 4, (_, caller) => nonces(caller).consume(expired, now)))).toBe(0);
      expect(await nonces(1).consume(randomToken(), now)).toBe(false);
    });
  });

  describe('remembering a DPoP proof jti', () => {
    it('accepts a jti once, however many replays arrive at once', async () => {
      const now = new Date();
      const key = dpopReplayKey(randomUUID());
      const results = await race(database.replicas, CALLERS, (_, caller) => dpop(caller).rememberOnce(key, minutesFrom(now, 5)));
      expect(winners(results)).toBe(1);
      expect(await dpop(0).rememberOnce(key, minutesFrom(now, 5))).toBe(false);
    });

    it('still refuses a replay after the purge, until the remembered jti itself has expired', async () => {
      const now = new Date();
      const live = dpopReplayKey(randomUUID());
      const stale = dpopReplayKey(randomUUID());
      expect(await dpop(0).rememberOnce(live, minutesFrom(now, 5))).toBe(true);
      expect(await dpop(0).rememberOnce(stale, minutesFrom(now, -1))).toBe(true);
      await nonces(1).purgeExpired(now);
      expect(await dpop(2).rememberOnce(live, minutesFrom(now, 5))).toBe(false);
      // Forgotten once its window is over (the proof's iat check refuses it by then).
      expect(await dpop(2).rememberOnce(stale, minutesFrom(now, 5))).toBe(true);
    });

    it('a remembered jti is no c_nonce: it can never be consumed as one', async () => {
      const now = new Date();
      const key = dpopReplayKey(randomUUID());
      await dpop(0).rememberOnce(key, minutesFrom(now, 5));
      expect(await nonces(1).consume(key, now)).toBe(false);
    });
  });

  describe('exchanging an authorization code', () => {
    /** A pushed authorization request (PAR) of an authorization code offer; its request_uri kept as a digest. */
    async function storeSession(requestExpiresAt: Date): Promise<AuthorizationSessionEntity> {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), flow: 'authorization_code' });
      const session: AuthorizationSessionEntity = {
        id: randomUUID(),
        offerId: offer.id,
        clientId: 'wallet',
        redirectUri: 'https://wallet.example/callback',
        state: 'wallet-state',
        codeChallenge: sha256Hex(randomToken()),
        requestUriHash: sha256Hex(randomToken()),
        requestExpiresAt,
        codeHash: null,
        codeExpiresAt: null,
        status: 'pushed',
        dpopJkt: null,
        credentialIdentifiers: ['driving-licence-sd-jwt'],
        createdAt: new Date(),
      };
      await sessions(0).insert(session);
      return session;
    }

    it('authorizes a pushed request once and exchanges its code once, however many callers race', async () => {
      const now = new Date();
      const session = await storeSession(minutesFrom(now, 5));
      const codes = Array.from({ length: CALLERS }, () => sha256Hex(randomToken()));
      const authorized = await race(database.replicas, CALLERS, (_, caller) =>
        sessions(caller).authorize(session.id, codes[caller]!, minutesFrom(now, 1)),
      );
      expect(winners(authorized)).toBe(1);
      const code = codes[authorized.indexOf(true)]!;
      expect((await sessions(1).byCode(code))?.id).toBe(session.id);
      expect(await sessions(2).byRequestUri(session.requestUriHash)).toMatchObject({
        status: 'authorized',
        credentialIdentifiers: ['driving-licence-sd-jwt'],
      });
      const exchanged = await race(database.replicas, CALLERS, (_, caller) => sessions(caller).exchangeCode(session.id));
      expect(winners(exchanged)).toBe(1);
      expect((await sessions(0).byCode(code))?.status).toBe('exchanged');
      expect(await sessions(1).exchangeCode(session.id)).toBe(false);
    });

    it('extends a pushed request once when its login page opens: never shortened, never once it is authorized', async () => {
      const now = new Date();
      const pushedUntil = minutesFrom(now, 1);
      const session = await storeSession(pushedUntil);
      const expiresAt = async () => (await sessions(1).byRequestUri(session.requestUriHash))!.requestExpiresAt.getTime();
      // Opened on every replica at once: one extension.
      const extended = await race(database.replicas, CALLERS, (_, caller) =>
        sessions(caller).extendRequest(session.id, pushedUntil, minutesFrom(now, 10 + caller)),
      );
      expect(winners(extended)).toBe(1);
      const until = await expiresAt();
      expect(until).toBe(minutesFrom(now, 10 + extended.indexOf(true)).getTime());
      // Opened again (it no longer expires when the PAR said), or asked for an earlier end: unchanged.
      expect(await sessions(2).extendRequest(session.id, pushedUntil, minutesFrom(now, 30))).toBe(false);
      expect(await sessions(2).extendRequest(session.id, new Date(until), minutesFrom(now, 5))).toBe(false);
      expect(await expiresAt()).toBe(until);
      expect(await sessions(0).authorize(session.id, sha256Hex(randomToken()), minutesFrom(now, 1))).toBe(true);
      expect(await sessions(1).extendRequest(session.id, new Date(until), minutesFrom(now, 40))).toBe(false);
      expect(await expiresAt()).toBe(until);
    });

    it('forgets an unexchanged code past its expiry, so it can no longer be exchanged', async () => {
      const now = new Date();
      const expired = await storeSession(minutesFrom(now, -10));
      const codeHash = sha256Hex(randomToken());
      expect(await sessions(0).authorize(expired.id, codeHash, minutesFrom(now, -5))).toBe(true);
      const unused = await storeSession(minutesFrom(now, -10));
      const live = await storeSession(minutesFrom(now, 5));
      await sessions(1).purgeExpired(now);
      expect(await sessions(2).byCode(codeHash)).toBeNull();
      expect(await sessions(2).byRequestUri(unused.requestUriHash)).toBeNull();
      expect(winners(await race(database.replicas, 4, (_, caller) => sessions(caller).exchangeCode(expired.id)))).toBe(0);
      expect((await sessions(0).byRequestUri(live.requestUriHash))?.status).toBe('pushed');
    });
  });

  describe('completing a deferred request', () => {
    it('lets exactly one of many concurrent deferred credential requests complete it', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5) });
      const transactionHash = sha256Hex(randomToken());
      await deferred(0).insert({
        transactionHash,
        offerId: offer.id,
        configurationId: 'driving-licence-sd-jwt',
        holderKeys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }],
        status: 'pending',
        createdAt: new Date(),
      });
      expect((await deferred(1).byTransactionHash(transactionHash))?.holderKeys).toEqual([
        { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
      ]);
      const results = await race(database.replicas, CALLERS, (_, caller) => deferred(caller).complete(transactionHash));
      expect(winners(results)).toBe(1);
      expect((await deferred(2).byTransactionHash(transactionHash))?.status).toBe('issued');
      expect(await deferred(0).complete(sha256Hex(randomToken()))).toBe(false);
    });
  });

  describe('reporting a notification', () => {
    it('records the first report of a notification id, only for its own offer', async () => {
      const now = new Date();
      const { offer } = await storeOffer({ expiresAt: minutesFrom(now, 5) });
      const other = await storeOffer({ expiresAt: minutesFrom(now, 5) });
      const id = randomUUID();
      await notifications(0).insert({
        id,
        offerId: offer.id,
        credentialIds: ['c1', 'c2'],
        event: null,
        description: null,
        reportedAt: null,
      });
      expect(await notifications(1).report(id, other.offer.id, 'credential_accepted', null, now)).toBe(false);
      const reports = await race(database.replicas, CALLERS, (_, caller) =>
        notifications(caller).report(id, offer.id, 'credential_accepted', null, now),
      );
      expect(winners(reports)).toBe(1);
      expect(await notifications(2).byId(id)).toMatchObject({ event: 'credential_accepted', credentialIds: ['c1', 'c2'] });
    });
  });
});
