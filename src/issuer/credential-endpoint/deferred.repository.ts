import { Injectable } from '@nestjs/common';
import { IsNull, LessThan, Not } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { DeferredRequestEntity } from './credential-endpoint.entity.js';

/** Credential requests waiting for an officer (deferred issuance). */
@Injectable()
export class DeferredRequestRepository {
  constructor(private readonly db: Database) {}

  async insert(
    request: Omit<DeferredRequestEntity, 'responseSealed' | 'notificationId' | 'redeliverUntil' | 'holderJkt'>,
    tx?: Tx,
  ): Promise<void> {
    await this.db.use(tx, (m) =>
      m
        .getRepository(DeferredRequestEntity)
        .insert({ ...request, responseSealed: null, notificationId: null, redeliverUntil: null, holderJkt: null }),
    );
  }

  byTransactionHash(transactionHash: string): Promise<DeferredRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(DeferredRequestEntity).findOneBy({ transactionHash }));
  }

  /**
   * pending → issued, once; inside the caller's transaction when given (the credentials' own commit). With
   * `delivery`, the same UPDATE records who the response goes to and its sealed copy for re-delivery to that
   * holder until `redeliverUntil` (ADR 18; a null copy when re-delivery is off).
   */
  async complete(
    transactionHash: string,
    tx?: Tx,
    delivery?: { holderJkt: string | null; responseSealed: string | null; notificationId: string; redeliverUntil: Date | null },
  ): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(DeferredRequestEntity)
        // The holder keys were needed to issue: kept after, they would identify the citizen's wallet for good.
        .update({ transactionHash, status: 'pending' }, { status: 'issued', holderKeys: [], ...(delivery ?? {}) }),
    );
    return result.affected === 1;
  }

  /** Requests of the offer still waiting: the offer's claims must stay until the last of them is issued. */
  pendingCount(offerId: string, tx?: Tx): Promise<number> {
    return this.db.use(tx, (m) => m.getRepository(DeferredRequestEntity).countBy({ offerId, status: 'pending' }));
  }

  /** The wallet reported on the credentials (any event): the sealed copy is deleted, re-delivery ends. */
  async endRedelivery(notificationId: string, offerId: string, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) =>
      m
        .getRepository(DeferredRequestEntity)
        .update({ notificationId, offerId }, { responseSealed: null, redeliverUntil: null, holderJkt: null }),
    );
  }

  /**
   * Requests still pending for an offer whose application was refused: the wallet is only ever told so
   * (credential_request_denied), so the holder keys it sent, which would identify it, are not kept.
   */
  async forgetRefusedHolderKeys(): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(DeferredRequestEntity)
        .createQueryBuilder()
        .update()
        .set({ holderKeys: [] })
        .where("status = 'pending' AND holder_keys <> '[]'")
        .andWhere("offer_id IN (SELECT o.id FROM credential_offers o WHERE o.approval = 'rejected')")
        .execute(),
    );
  }

  /** Sealed copies whose grace period is over. */
  async purgeRedelivery(now: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(DeferredRequestEntity)
        // The DPoP key's thumbprint only tells whom a copy may be re-delivered to: it goes with the copy.
        .update(
          { responseSealed: Not(IsNull()), redeliverUntil: LessThan(now) },
          { responseSealed: null, redeliverUntil: null, holderJkt: null },
        ),
    );
  }
}
