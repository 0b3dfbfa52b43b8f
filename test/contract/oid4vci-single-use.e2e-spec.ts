import { createHash, randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../src/common/index.js';
import { OfferRepository } from '../../src/issuer/oid4vci/offer.repository.js';
import type { CredentialOfferEntity } from '../../src/issuer/offers/offer.entity.js';
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
 * The OID4VCI issuer's single-use values, against the repository alone on each database: of many
 * concurrent callers (spread over several connections, as replicas) exactly one wins; what has expired is
 * refused. (That codes are stored as digests is `secrets-at-rest.e2e-spec.ts`.)
 */
describe('OID4VCI single-use values (repository contract)', () => {
  let database: ContractDatabase;
  let agencyId: string;
  const repositories = () => database.replicas.map((db) => new OfferRepository(db));
  const offers = (caller: number) => repositories()[caller % database.replicas.length]!;

  beforeAll(async () => {
    database = await openContractDatabase('oid4vci');
    agencyId = await insertAgency(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** Stores an offer whose grant secret (pre-authorized code) and optional PIN are kept as digests. */
  async function storeOffer(options: { expiresAt: Date; pin?: string }): Promise<{ offer: CredentialOfferEntity; code: string }> {
    const id = randomUUID();
    const code = randomToken();
    const offer: CredentialOfferEntity = {
      id,
      agencyId,
      typeId: 'driving-licence',
      configurationIds: JSON.stringify(['driving-licence-sd-jwt']),
      issuedConfigurations: JSON.stringify([]),
      claimsSealed: 'sealed-claims',
      flow: 'pre-authorized_code',
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

  describe('reserving a PIN attempt', () => {
    it('hands out no more attempts than allowed, however many guesses arrive at once', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), pin: '493817' });
      const maxAttempts = 3;
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        offers(caller).reserveCodeAttempt(offer.id, maxAttempts),
      );
      expect(results.filter((attempts) => attempts !== undefined)).toHaveLength(maxAttempts);
      expect((await offers(0).byId(offer.id))?.txCodeFailures).toBe(maxAttempts);
      expect(await offers(1).reserveCodeAttempt(offer.id, maxAttempts)).toBeUndefined();
    });

    it('lets exactly one caller take the last attempt', async () => {
      const { offer } = await storeOffer({ expiresAt: minutesFrom(new Date(), 5), pin: '493817' });
      const results = await race(database.replicas, CALLERS, (_, caller) => offers(caller).reserveCodeAttempt(offer.id, 1));
      expect(results.filter((attempts) => attempts !== undefined)).toEqual([1]);
    });

    it('refuses attempts on an offer that is locked or already redeemed', async () => {
      const now = new Date();
      const locked = await storeOffer({ expiresAt: minutesFrom(now, 5), pin: '111111' });
      await offers(0).lock(locked.offer.id);
      expect(await offers(1).reserveCodeAttempt(locked.offer.id, 5)).toBeUndefined();
      expect(await offers(1).redeem(locked.offer.id, now)).toBe(false);
      const redeemed = await storeOffer({ expiresAt: minutesFrom(now, 5), pin: '222222' });
      expect(await offers(0).redeem(redeemed.offer.id, now)).toBe(true);
      expect(await offers(2).reserveCodeAttempt(redeemed.offer.id, 5)).toBeUndefined();
    });
  });

  describe('consuming a c_nonce', () => {
    it('lets exactly one of many concurrent proofs consume a nonce', async () => {
      const now = new Date();
      const nonce = randomToken();
      await offers(0).insertNonce(nonce, minutesFrom(now, 5));
      const results = await race(database.replicas, CALLERS, (_, caller) => offers(caller).consumeNonce(nonce, now));
      expect(winners(results)).toBe(1);
      expect(await offers(0).consumeNonce(nonce, now)).toBe(false);
    });

    it('refuses an expired nonce and one it never handed out', async () => {
      const now = new Date();
      const expired = randomToken();
      await offers(0).insertNonce(expired, minutesFrom(now, -1));
      expect(winners(await race(database.replicas, 4, (_, caller) => offers(caller).consumeNonce(expired, now)))).toBe(0);
      expect(await offers(1).consumeNonce(randomToken(), now)).toBe(false);
    });
  });

  describe('remembering a DPoP proof jti', () => {
    /** As the token endpoint remembers a proof: its jti's SHA-256, base64url. */
    const jtiKey = (jti: string) => `dpop:${createHash('sha256').update(jti).digest('base64url')}`;

    it('accepts a jti once, however many replays arrive at once', async () => {
      const now = new Date();
      const key = jtiKey(randomUUID());
      const results = await race(database.replicas, CALLERS, (_, caller) =>
        offers(caller).rememberOnce(key, minutesFrom(now, 5)),
      );
      expect(winners(results)).toBe(1);
      expect(await offers(0).rememberOnce(key, minutesFrom(now, 5))).toBe(false);
    });

    it('still refuses a replay after the purge, until the remembered jti itself has expired', async () => {
      const now = new Date();
      const live = jtiKey(randomUUID());
      const stale = jtiKey(randomUUID());
      expect(await offers(0).rememberOnce(live, minutesFrom(now, 5))).toBe(true);
      expect(await offers(0).rememberOnce(stale, minutesFrom(now, -1))).toBe(true);
      await offers(1).purgeExpired(now);
      expect(await offers(2).rememberOnce(live, minutesFrom(now, 5))).toBe(false);
      // Forgotten once its window is over (the proof's iat check refuses it by then).
      expect(await offers(2).rememberOnce(stale, minutesFrom(now, 5))).toBe(true);
    });

    it('a remembered jti is no c_nonce: it can never be consumed as one', async () => {
      const now = new Date();
      const key = jtiKey(randomUUID());
      await offers(0).rememberOnce(key, minutesFrom(now, 5));
      expect(await offers(1).consumeNonce(key, now)).toBe(false);
    });
  });
});
