import { Injectable } from '@nestjs/common';
import { IsNull, LessThan, MoreThan } from 'typeorm';
import { Database } from '../../persistence/index.js';
import {
  AuthorizationSessionEntity,
  CredentialOfferEntity,
  DeferredRequestEntity,
  Oid4vciNonceEntity,
  Oid4vciNotificationEntity,
} from './offer.entity.js';

/** Every single-use transition here is one conditional UPDATE: exactly one concurrent caller wins. */
@Injectable()
export class OfferRepository {
  constructor(private readonly db: Database) {}

  async insert(offer: CredentialOfferEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).insert(offer));
  }

  async setSealedOffer(id: string, offerSealed: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).update({ id }, { offerSealed }));
  }

  byId(id: string): Promise<CredentialOfferEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).findOneBy({ id }));
  }

  byCodeHash(preAuthCodeHash: string): Promise<CredentialOfferEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).findOneBy({ preAuthCodeHash }));
  }

  /**
   * Reserves one PIN / login-code attempt before the code is compared, in one conditional UPDATE, so
   * concurrent guesses cannot exceed the limit. Returns the attempts used, or undefined when none is left.
   */
  async reserveCodeAttempt(offerId: string, maxAttempts: number): Promise<number | undefined> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder()
        .update()
        .set({ txCodeFailures: () => 'tx_code_failures + 1' })
        .where('id = :id AND status = :status AND tx_code_failures < :max', { id: offerId, status: 'offered', max: maxAttempts })
        .execute(),
    );
    if (result.affected !== 1) return undefined;
    return (await this.byId(offerId))?.txCodeFailures;
  }

  /** A wrong code that used up the last attempt locks the offer. */
  async lock(offerId: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.getRepository(CredentialOfferEntity).update({ id: offerId, status: 'offered' }, { status: 'locked' }),
    );
  }

  /** offered → redeemed, if still offered and not expired. */
  async redeem(id: string, now: Date): Promise<boolean> {
    // (The authorization code flow redeems when its code is exchanged; the offer stays single-use.)
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CredentialOfferEntity).update({ id, status: 'offered', expiresAt: MoreThan(now) }, { status: 'redeemed' }),
    );
    return result.affected === 1;
  }

  /**
   * Claims a configuration for issuance; only one request per configuration succeeds. With `final`, the
   * offer is done and its sealed claims are erased.
   */
  async markIssued(offer: CredentialOfferEntity, configurationId: string, final: boolean): Promise<boolean> {
    const issued = JSON.stringify([...(JSON.parse(offer.issuedConfigurations) as string[]), configurationId]);
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .update(
          { id: offer.id, status: 'redeemed', issuedConfigurations: offer.issuedConfigurations },
          { issuedConfigurations: issued, ...(final ? { status: 'issued' as const, claimsSealed: null } : {}) },
        ),
    );
    return result.affected === 1;
  }

  async eraseClaims(offerId: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).update({ id: offerId }, { claimsSealed: null }));
  }

  /** pending → approved, for an offer of this agency awaiting approval. */
  async approve(offerId: string, agencyId: string): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CredentialOfferEntity).update({ id: offerId, agencyId, approval: 'pending' }, { approval: 'approved' }),
    );
    return result.affected === 1;
  }

  async insertSession(session: AuthorizationSessionEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).insert(session));
  }

  sessionByRequestUri(requestUriHash: string): Promise<AuthorizationSessionEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).findOneBy({ requestUriHash }));
  }

  sessionByCode(codeHash: string): Promise<AuthorizationSessionEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).findOneBy({ codeHash }));
  }

  /** pushed → authorized (the citizen logged in), once. */
  async authorizeSession(id: string, codeHash: string, codeExpiresAt: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(AuthorizationSessionEntity)
        .update({ id, status: 'pushed' }, { status: 'authorized', codeHash, codeExpiresAt }),
    );
    return result.affected === 1;
  }

  /** authorized → exchanged: the authorization code is single-use. */
  async exchangeCode(id: string): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(AuthorizationSessionEntity).update({ id, status: 'authorized' }, { status: 'exchanged' }),
    );
    return result.affected === 1;
  }

  async insertDeferred(request: DeferredRequestEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(DeferredRequestEntity).insert(request));
  }

  deferred(transactionHash: string): Promise<DeferredRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(DeferredRequestEntity).findOneBy({ transactionHash }));
  }

  /** pending → issued, once. */
  async completeDeferred(transactionHash: string): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(DeferredRequestEntity).update({ transactionHash, status: 'pending' }, { status: 'issued' }),
    );
    return result.affected === 1;
  }

  async insertNonce(nonce: string, expiresAt: Date): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).insert({ nonce, expiresAt, usedAt: null }));
  }

  /** Records a one-time value (a DPoP jti); false if it was seen before. Stored as an already-used nonce. */
  async rememberOnce(value: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.db.use(undefined, (m) =>
        m.getRepository(Oid4vciNonceEntity).insert({ nonce: value, expiresAt, usedAt: new Date() }),
      );
      return true;
    } catch (error) {
      const seen = await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).countBy({ nonce: value }));
      if (seen > 0) return false;
      throw error;
    }
  }

  /**
   * Purges expired OID4VCI state with plain conditional statements (safe when several replicas run it):
   * nonces and remembered DPoP jtis, pushed requests and unexchanged codes past their expiry, and the
   * sealed claims and offer objects of offers that expired (or were locked) before being redeemed.
   */
  async purgeExpired(now: Date): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).delete({ expiresAt: LessThan(now) }));
    await this.db.use(undefined, (m) =>
      m
        .getRepository(AuthorizationSessionEntity)
        .createQueryBuilder()
        .delete()
        .where("request_expires_at < :now AND (status <> 'authorized' OR code_expires_at < :now)", { now })
        .execute(),
    );
    await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder()
        .update()
        .set({ claimsSealed: null, offerSealed: null })
        .where(
          "expires_at < :now AND status IN ('offered', 'locked') AND (claims_sealed IS NOT NULL OR offer_sealed IS NOT NULL)",
          {
            now,
          },
        )
        .execute(),
    );
  }

  async consumeNonce(nonce: string, now: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(Oid4vciNonceEntity).update({ nonce, usedAt: IsNull(), expiresAt: MoreThan(now) }, { usedAt: now }),
    );
    return result.affected === 1;
  }

  async insertNotification(notification: Oid4vciNotificationEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciNotificationEntity).insert(notification));
  }

  /** Records the wallet's report once; returns false for an unknown or already reported id. */
  async reportNotification(id: string, offerId: string, event: string, description: string | null): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(Oid4vciNotificationEntity)
        .update({ id, offerId, reportedAt: IsNull() }, { event, description, reportedAt: new Date() }),
    );
    return result.affected === 1;
  }

  notification(id: string): Promise<Oid4vciNotificationEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(Oid4vciNotificationEntity).findOneBy({ id }));
  }
}
