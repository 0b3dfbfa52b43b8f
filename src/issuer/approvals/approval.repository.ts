import { Injectable } from '@nestjs/common';
import { In, LessThan, MoreThan } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { CredentialOfferEntity } from '../offers/offer.entity.js';
import {
  ApprovalApplicationEntity,
  ApprovalStepEntity,
  ApprovalWalletRequestEntity,
  ERASED_CONTENT,
  type ApplicationState,
} from './approval.entity.js';

/** Applications and their timelines (issue 16). Each state change is one conditional UPDATE: one caller wins. */
@Injectable()
export class ApprovalRepository {
  constructor(private readonly db: Database) {}

  async insert(tx: Tx, application: ApprovalApplicationEntity): Promise<void> {
    await tx.getRepository(ApprovalApplicationEntity).insert(application);
  }

  byId(id: string): Promise<ApprovalApplicationEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(ApprovalApplicationEntity).findOneBy({ id }));
  }

  byApplicationId(applicationId: string): Promise<ApprovalApplicationEntity | null> {
    return this.db.use(undefined, (m) =>
      m.getRepository(ApprovalApplicationEntity).findOneBy({ applicationId: applicationId.toLowerCase() }),
    );
  }

  byOfferId(offerId: string): Promise<ApprovalApplicationEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(ApprovalApplicationEntity).findOneBy({ offerId }));
  }

  /** Applications still waiting for the chain's outcome, oldest first; with `after`, those that come after it. */
  pending(limit: number, after?: { createdAt: Date; id: string }): Promise<ApprovalApplicationEntity[]> {
    return this.db.use(undefined, (m) => {
      const query = m
        .getRepository(ApprovalApplicationEntity)
        .createQueryBuilder('a')
        .where("a.state = 'pending'")
        .orderBy('a.created_at', 'ASC')
        .addOrderBy('a.id', 'ASC')
        .take(limit);
      if (after)
        query.andWhere('(a.created_at > :at OR (a.created_at = :at AND a.id > :id))', { at: after.createdAt, id: after.id });
      return query.getMany();
    });
  }

  /**
   * pending → a final state, once: the caller that gets true does what follows (offer, audit) in the same transaction.
   * The application's content (the citizen's claims, kept for the departments to decide on) is erased with it: the
   * decision is made, and the offer keeps what issuance needs.
   */
  async settle(tx: Tx, id: string, state: Exclude<ApplicationState, 'pending'>, reasonCodes: string[]): Promise<boolean> {
    const result = await tx.getRepository(ApprovalApplicationEntity).update(
      { id, state: 'pending' },
      // The applicant's keyed hash only bars a second pending application; kept after, it would link a citizen's
      // applications over the years.
      { state, reasonCodes, contentSealed: ERASED_CONTENT, applicantHash: null, updatedAt: new Date() },
    );
    return result.affected === 1;
  }

  /** Records a timeline step unless it is there already (another replica, the reconciler, a re-sent event). */
  async addStep(tx: Tx | undefined, step: ApprovalStepEntity): Promise<void> {
    await this.db.use(tx, (m) => m.createQueryBuilder().insert().into(ApprovalStepEntity).values(step).orIgnore().execute());
  }

  /** The "issued" step of an application, one per credential configuration of its offer. */
  async recordIssued(applicationId: string, configurationId: string, tx?: Tx): Promise<void> {
    await this.addStep(tx, {
      id: `${applicationId}/issued/${configurationId}`,
      applicationRef: applicationId,
      step: 'issued',
      department: null,
      decision: null,
      // The issued step names its configuration in the reason column (the view calls it configurationId).
      reasonCode: configurationId,
      txHash: null,
      blockNumber: null,
      at: new Date(),
    });
  }

  /** The timeline: chain order (block), then the time it was recorded. */
  steps(applicationRefs: string[]): Promise<ApprovalStepEntity[]> {
    if (applicationRefs.length === 0) return Promise.resolve([]);
    return this.db.use(undefined, (m) =>
      m.getRepository(ApprovalStepEntity).find({
        where: { applicationRef: In(applicationRefs) },
        order: { blockNumber: 'ASC', at: 'ASC' },
      }),
    );
  }

  async insertWalletRequest(request: ApprovalWalletRequestEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(ApprovalWalletRequestEntity).insert(request));
  }

  /** A wallet's request that has not expired, or null. */
  walletRequest(id: string, now: Date): Promise<ApprovalWalletRequestEntity | null> {
    return this.db.use(undefined, (m) =>
      m.getRepository(ApprovalWalletRequestEntity).findOneBy({ id, expiresAt: MoreThan(now) }),
    );
  }

  /** Consumes a wallet's request in the caller's transaction; only one caller gets true. */
  async claimWalletRequest(tx: Tx, id: string): Promise<boolean> {
    const result = await tx.getRepository(ApprovalWalletRequestEntity).delete({ id });
    return result.affected === 1;
  }

  /**
   * Requests whose sign-in never came, with the draft offers they named: a wallet's pushed request makes one
   * (anonymously), and without claims it can never be issued, so it must not stay for ever.
   */
  async purgeWalletRequests(now: Date): Promise<void> {
    await this.db.transaction(async (tx) => {
      const expired = tx
        .getRepository(ApprovalWalletRequestEntity)
        .createQueryBuilder('request')
        .select('request.id')
        .where('request.expires_at < :now');
      const drafts = tx
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder('draft')
        .select('draft.id')
        .where(`draft.id IN (${expired.getQuery()})`)
        .andWhere("draft.status = 'offered' AND draft.claims_sealed IS NULL");
      // The pushed request's session names the draft (a foreign key); it expired with the wallet's request.
      await tx
        .createQueryBuilder()
        .delete()
        .from('authorization_sessions')
        .where(`offer_id IN (${drafts.getQuery()})`, { now })
        .execute();
      await tx
        .getRepository(CredentialOfferEntity)
        .createQueryBuilder()
        .delete()
        .where(`id IN (${expired.getQuery()})`, { now })
        .andWhere("status = 'offered' AND claims_sealed IS NULL")
        .execute();
      await tx.getRepository(ApprovalWalletRequestEntity).delete({ expiresAt: LessThan(now) });
    });
  }
}
