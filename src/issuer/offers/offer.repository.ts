import { Injectable } from '@nestjs/common';
import { IsNull, MoreThan } from 'typeorm';
import { MAX_ACCESS_TOKEN_SECONDS } from '../../config/index.js';
import { Database, type Tx } from '../../persistence/index.js';
import type { CodeAttempt } from '../../oid4vci/index.js';
import { CredentialOfferEntity } from './offer.entity.js';

/** Credential offers. Every single-use transition is one conditional UPDATE: exactly one concurrent caller wins. */
@Injectable()
export class OfferRepository {
  constructor(private readonly db: Database) {}

  /** Stores a new offer, in the caller's transaction when given one. */
  async insert(offer: CredentialOfferEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(CredentialOfferEntity).insert(offer));
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
   * One PIN / login-code attempt, in one transaction: an attempt is reserved (counted) by one conditional
   * UPDATE before `decide` compares the code, so concurrent guesses cannot exceed `maxAttempts` (on PostgreSQL
   * the row stays locked until the commit, so they wait for each other); a right code gives its attempt back
   * and a wrong one that used the last locks the offer, in the same transaction. A crash in between (kill -9)
   * rolls the reservation back with the rest, where separate statements had left a right code's attempt
   * counted for good. `decide` gets the attempts used including this one, or undefined when none was left.
   */
  attemptCode(
    offerId: string,
    maxAttempts: number,
    decide: (attemptsUsed: number | undefined) => CodeAttempt,
  ): Promise<CodeAttempt> {
    return this.db.transaction(async (tx) => {
      const attempt = decide(await this.reserveCodeAttempt(tx, offerId, maxAttempts));
      if (attempt.outcome === 'accepted') await this.refundCodeAttempt(tx, offerId);
      if (attempt.outcome === 'locked_now') await this.lock(tx, offerId);
      return attempt;
    });
  }

  private async reserveCodeAttempt(tx: Tx, offerId: string, maxAttempts: number): Promise<number | undefined> {
    const result = await tx
      .getRepository(CredentialOfferEntity)
      .createQueryBuilder()
      .update()
      .set({ txCodeFailures: () => 'tx_code_failures + 1' })
      .where('id = :id AND status = :status AND tx_code_failures < :max', { id: offerId, status: 'offered', max: maxAttempts })
      .execute();
    if (result.affected !== 1) return undefined;
    return (await tx.getRepository(CredentialOfferEntity).findOneBy({ id: offerId }))?.txCodeFailures;
  }

  /** Only wrong codes count: a failure after a right one (the redemption, the tokens) costs the citizen nothing. */
  private async refundCodeAttempt(tx: Tx, offerId: string): Promise<void> {
    await tx
      .getRepository(CredentialOfferEntity)
      .createQueryBuilder()
      .update()
      .set({ txCodeFailures: () => 'tx_code_failures - 1' })
      .where('id = :id AND tx_code_failures > 0', { id: offerId })
      .execute();
  }

  /** A wrong code that used up the last attempt locks the offer. */
  private async lock(tx: Tx, offerId: string): Promise<void> {
    await tx.getRepository(CredentialOfferEntity).update({ id: offerId, status: 'offered' }, { status: 'locked' });
  }

  /** offered → redeemed, if still offered and not expired. */
  async redeem(id: string, now: Date, tx?: Tx): Promise<boolean> {
    // (The authorization code flow redeems when its code is exchanged; the offer stays single-use.)
    const result = await this.db.use(tx, (m) =>
      m.getRepository(CredentialOfferEntity).update({ id, status: 'offered', expiresAt: MoreThan(now) }, { status: 'redeemed' }),
    );
    return result.affected === 1;
  }

  /**
   * Claims a configuration for issuance; only one request per configuration succeeds (compare-and-set on the
   * list). A request for another configuration of the same offer that commits first changes the list, so a lost
   * compare-and-set reads the list again and retries while the configuration is still unclaimed: parallel
   * requests for different configurations all succeed, at most one per configuration. `finishes` says, from the
   * list with this configuration added and inside the transaction, whether the offer is then done (its sealed
   * claims are erased). Runs inside the transaction that records what the claim is for (the credential, or the
   * deferred request), so neither is left without the other.
   */
  async markIssued(
    offer: CredentialOfferEntity,
    configurationId: string,
    finishes: (issuedAfter: readonly string[], tx?: Tx) => boolean | Promise<boolean>,
    tx?: Tx,
  ): Promise<boolean> {
    let issued = offer.issuedConfigurations;
    // Each lost round means another configuration was claimed meanwhile: at most one round per configuration.
    for (let round = 0; round <= offer.configurationIds.length; round++) {
      if (issued.includes(configurationId)) return false;
      const next = [...issued, configurationId];
      const final = await finishes(next, tx);
      const result = await this.db.use(tx, (m) =>
        m.getRepository(CredentialOfferEntity).update(
          // Criteria and values go through the column's JSON transformer (not raw SQL), so both sides are the same text.
          // (TypeORM types a where-value of an array column as its element; the transformer takes the array.)
          { id: offer.id, status: 'redeemed', issuedConfigurations: issued as never },
          { issuedConfigurations: next, ...(final ? { status: 'issued' as const, claimsSealed: null } : {}) },
        ),
      );
      if (result.affected === 1) return true;
      const current = await this.db.use(tx, (m) => m.getRepository(CredentialOfferEntity).findOneBy({ id: offer.id }));
      if (current?.status !== 'redeemed') return false;
      issued = current.issuedConfigurations;
    }
    return false;
  }

  async eraseClaims(offerId: string, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(CredentialOfferEntity).update({ id: offerId }, { claimsSealed: null }));
  }

  /**
   * pending → approved, for an offer of this agency awaiting an officer's approval. A joint-approval
   * application's offer (issue 16) is not one: only the contract's outcome settles it (settleApproval).
   */
  async approve(offerId: string, agencyId: string, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder()
        .update()
        .set({ approval: 'approved' })
        .where('id = :offerId AND agency_id = :agencyId AND approval = :pending', { offerId, agencyId, pending: 'pending' })
        .andWhere('NOT EXISTS (SELECT 1 FROM approval_applications a WHERE a.offer_id = :offerId)', { offerId })
        .andWhere('NOT EXISTS (SELECT 1 FROM approval_wallet_requests w WHERE w.id = :offerId)', { offerId })
        .execute(),
    );
    return result.affected === 1;
  }

  /**
   * A wallet-started application's draft offer (made at the pushed authorization request, no claims yet)
   * gets the signed-in citizen's sealed claims and its lifetime, in the caller's transaction; false when it
   * is no draft any more.
   */
  async completeDraft(tx: Tx, id: string, claimsSealed: string, expiresAt: Date): Promise<boolean> {
    const result = await tx
      .getRepository(CredentialOfferEntity)
      .update({ id, status: 'offered', claimsSealed: IsNull() }, { claimsSealed, expiresAt });
    return result.affected === 1;
  }

  /**
   * pending → approved | rejected, in the caller's transaction: a joint-approval outcome from the chain (issue 16).
   * A rejected application's claims are erased with it: nothing will ever be issued from them.
   */
  async settleApproval(tx: Tx, offerId: string, approval: 'approved' | 'rejected'): Promise<boolean> {
    const result = await tx
      .getRepository(CredentialOfferEntity)
      .update(
        { id: offerId, approval: 'pending' },
        approval === 'rejected' ? { approval, claimsSealed: null, offerSealed: null } : { approval },
      );
    return result.affected === 1;
  }

  /**
   * The sealed claims and offer objects of offers that expired (or were locked) before being redeemed, and of
   * redeemed offers no token can reach any more (a wallet that never fetched every credential, an approval that
   * never came): tokens end with the offer (refresh families) or at most an access token's life after it.
   */
  async purgeExpiredSealedState(now: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder()
        .update()
        .set({ claimsSealed: null, offerSealed: null })
        .where(
          "((expires_at < :now AND status IN ('offered', 'locked')) OR (expires_at < :unreachable AND status = 'redeemed'))" +
            ' AND (claims_sealed IS NOT NULL OR offer_sealed IS NOT NULL)',
          { now, unreachable: new Date(now.getTime() - MAX_ACCESS_TOKEN_SECONDS * 1000) },
        )
        .execute(),
    );
  }
}
