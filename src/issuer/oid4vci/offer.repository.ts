import { Injectable } from '@nestjs/common';
import { IsNull, MoreThan } from 'typeorm';
import { Database } from '../../persistence/index.js';
import { CredentialOfferEntity, Oid4vciNonceEntity, Oid4vciNotificationEntity } from './offer.entity.js';

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

  /** Counts a wrong PIN; the fifth locks the offer. Returns the failures so far. */
  async recordTxCodeFailure(offer: CredentialOfferEntity, maxFailures: number): Promise<number> {
    const failures = offer.txCodeFailures + 1;
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .update(
          { id: offer.id, status: 'offered', txCodeFailures: offer.txCodeFailures },
          { txCodeFailures: failures, ...(failures >= maxFailures ? { status: 'locked' as const } : {}) },
        ),
    );
    if (!result.affected) {
      // Another request counted concurrently: read again and count on top of it.
      const fresh = await this.byId(offer.id);
      return fresh && fresh.status === 'offered' ? this.recordTxCodeFailure(fresh, maxFailures) : maxFailures;
    }
    return failures;
  }

  /** offered → redeemed, if still offered and not expired. */
  async redeem(id: string, now: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CredentialOfferEntity).update({ id, status: 'offered', expiresAt: MoreThan(now) }, { status: 'redeemed' }),
    );
    return result.affected === 1;
  }

  /** Records that a configuration was issued; only one request per configuration succeeds. */
  async markIssued(offer: CredentialOfferEntity, configurationId: string, allIssued: boolean): Promise<boolean> {
    const issued = JSON.stringify([...(JSON.parse(offer.issuedConfigurations) as string[]), configurationId]);
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .update(
          { id: offer.id, status: 'redeemed', issuedConfigurations: offer.issuedConfigurations },
          { issuedConfigurations: issued, ...(allIssued ? { status: 'issued' as const, claimsSealed: null } : {}) },
        ),
    );
    return result.affected === 1;
  }

  async insertNonce(nonce: string, expiresAt: Date): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).insert({ nonce, expiresAt, usedAt: null }));
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
