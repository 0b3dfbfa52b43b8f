import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { hexlify } from 'ethers';
import { LRUCache } from 'lru-cache';
import { AuditLog } from '../../audit/index.js';
import {
  ChainEvents,
  credentialTypeKey,
  JointApprovalChain,
  OutboxService,
  Reconciler,
  type JointApprovalLog,
  type PolicyRecord,
} from '../../chain/index.js';
import {
  badRequest,
  conflict,
  forEachIsolated,
  notFound,
  parseOrThrow,
  ProblemError,
  secretsEqual,
  sha256Hex,
} from '../../common/index.js';
import { Catalogue } from '../../credentials/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { Database, type Tx } from '../../persistence/index.js';
import { HmacKeys, KeyService } from '../../keys/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { OfferService, type PreparedOffer } from '../offers/offer.service.js';
import { ERASED_CONTENT, type ApprovalApplicationEntity, type ApprovalStepEntity } from './approval.entity.js';
import { ApprovalRepository } from './approval.repository.js';
import {
  applicationIdOf,
  offerApprovalOf,
  outcomeOfStep,
  policyMismatch,
  stepId,
  stepOfEvent,
  timelineView,
  type ApplicationContent,
} from './approval-rules.js';
import { createApplicationSchema } from './approval.schemas.js';

/** Pending applications one reconcile round looks at. */
const RECONCILE_BATCH = 200;
/** How long the wallet may take to redeem an application's offer (its credential waits for the approvals). */
export const APPLICATION_OFFER_SECONDS = 30 * 86_400;
/** The HMAC key applicants' read tokens are derived with (src/keys). */
/** The HMAC key of applicants' hashes (see ApprovalApplicationEntity.applicantHash). */
const APPLICANT_KEY = 'approval-applicant';
const READ_TOKEN_KEY = 'approval-read-token';
/** Reason code of an application whose submit transaction the contract refused. */
export const SUBMISSION_REFUSED = 'submission-refused';

export const sealContext = (reference: string) => `approval:${reference}`;

export interface SealedApplication {
  salt: string;
  content: ApplicationContent;
}

/**
 * Joint approval at the issuing department (issue 16, ADR 17): applications (content sealed, salted
 * digest submitted through the outbox in the same transaction), the chain watcher (JointApproval events
 * through ChainEvents, and a reconcile step that reads the logs of every pending application, so events
 * missed while down are caught up), and the outcome: one conditional UPDATE settles the application and
 * its deferred offer, so the wallet's next deferred request issues (approved) or is denied (rejected).
 */
@Injectable()
export class ApprovalService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApprovalService');

  constructor(
    private readonly db: Database,
    private readonly repository: ApprovalRepository,
    private readonly chain: JointApprovalChain,
    private readonly events: ChainEvents,
    private readonly reconciler: Reconciler,
    private readonly outbox: OutboxService,
    private readonly offers: OfferService,
    private readonly offerRepository: OfferRepository,
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly audit: AuditLog,
    private readonly hmacKeys: HmacKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Per pending application, the block its next catch-up read starts at (what this process has recorded so far). */
  private readonly logsReadTo = new LRUCache<string, number>({ max: 10_000 });
  /** Where the next reconcile round goes on from (undefined: the oldest pending application). */
  private reconcileAfter: { createdAt: Date; id: string } | undefined;

  onApplicationBootstrap(): void {
    this.events.onLog((log) => {
      let decoded: JointApprovalLog | undefined;
      try {
        decoded = this.chain.decodeLog(log);
      } catch {
        return; // no consortium followed yet
      }
      if (decoded)
        void this.record(decoded).catch((error: unknown) => this.logger.warn({ err: error }, 'approval event not recorded'));
    });
    this.reconciler.register({ name: 'joint-approval', run: () => this.reconcile() });
  }

  /** An agency files an application under the type's active policy: sealed content, digest on chain, a deferred offer. */
  async apply(agency: Agency, body: unknown) {
    const input = parseOrThrow(createApplicationSchema, body);
    const type = this.catalogue.get(input.type);
    if (!type) throw badRequest(`Unknown credential type ${input.type}`, [{ path: 'type', message: 'unknown credential type' }]);
    const policy = await this.policyFor(agency, type.id);
    // The offer checks formats and claims against the catalogue; its credential request waits (deferred).
    const prepared = await this.offers.prepareOffer(agency, {
      type: type.id,
      formats: input.formats,
      claims: input.claims,
      txCode: input.txCode,
      flow: input.flow,
      requiresApproval: true,
      expiresInSeconds: APPLICATION_OFFER_SECONDS,
    });
    // The answer (the offer's only copy of its code and PIN, the read token) is ready before the filing
    // commits: nothing that can fail follows it, so the agency never gets an error for a filed application.
    const offer = await this.offers.offerCreated(agency, prepared);
    const { row, outboxId, readToken } = await this.file({
      agency,
      policy,
      prepared,
      reference: randomUUID(),
      formats: input.formats,
      claims: input.claims,
      actor: `agency:${agency.id}`,
    });
    return {
      ...(await this.view(row, [])), // just filed: no step yet
      readToken,
      offer: {
        offerId: offer.offerId,
        credentialOffer: offer.credentialOffer,
        ...('txCode' in offer && offer.txCode ? { txCode: offer.txCode } : {}),
        ...('loginCode' in offer && offer.loginCode ? { loginCode: offer.loginCode } : {}),
        expiresAt: offer.expiresAt.toISOString(),
      },
      outboxId,
    };
  }

  /** The type's active policy when it names this department as submitter and this agency as issuer; 409 otherwise. */
  async policyFor(agency: Agency, typeId: string): Promise<PolicyRecord> {
    const policy = await this.chain.activePolicy(credentialTypeKey(typeId));
    const mismatch = policyMismatch(
      policy && { ...policy.terms, active: policy.active },
      await this.chain.controllerAddress(),
      ethrDidAddress(agency.did)!,
    );
    if (mismatch) throw new ProblemError(409, 'no_approval_policy', 'No joint-approval policy applies', `${typeId}: ${mismatch}`);
    return policy!;
  }

  /**
   * Files an application: the content sealed, its salted digest computed, and then ONE transaction stores
   * the deferred offer, the application, the submit write (outbox) and the audit entry, so that none of
   * them exists without the others (ADR 17 addendum: no orphan offer).
   */
  async file(input: {
    agency: Agency;
    policy: PolicyRecord;
    prepared: PreparedOffer;
    reference: string;
    formats: readonly string[];
    claims: Record<string, unknown>;
    actor: string;
    /** A wallet-started application's citizen (their subject), of whom one application per type may be pending. */
    applicant?: string;
    /** A single-use step in the same transaction (a wallet's waiting request); false aborts the filing. */
    claim?: (tx: Tx) => Promise<boolean>;
    /** Stores the offer in the transaction; default: inserts `prepared.entity` (a wallet's draft is updated instead). */
    storeOffer?: (tx: Tx) => Promise<void>;
  }): Promise<{ row: ApprovalApplicationEntity; outboxId: string; readToken: string }> {
    const { agency, policy, prepared, reference } = input;
    const readToken = await this.readTokenFor(reference);
    const offerId = prepared.entity.id;
    const content: ApplicationContent = {
      typeId: prepared.entity.typeId,
      formats: [...new Set(input.formats)],
      claims: input.claims,
    };
    const salt = randomBytes(32);
    const applicationId = applicationIdOf(salt, content);
    const sealed: SealedApplication = { salt: hexlify(salt), content };
    const now = new Date();
    const row: ApprovalApplicationEntity = {
      id: reference,
      applicationId,
      agencyId: agency.id,
      typeId: content.typeId,
      offerId,
      policyId: policy.policyId.toString(),
      contentSealed: await this.keys.sealJson(sealed, sealContext(reference)),
      readTokenHash: sha256Hex(readToken),
      applicantHash:
        input.applicant === undefined
          ? null
          : (await this.hmacKeys.hmacSha256(APPLICANT_KEY, `${content.typeId}:${input.applicant}`)).toString('hex'),
      state: 'pending',
      reasonCodes: [],
      outboxId: '',
      createdAt: now,
      updatedAt: now,
    };
    // Prepared before the transaction (the signing key lookup reads the database, which SQLite serialises).
    const submit = await this.chain.submitWrite(applicationId, policy.policyId, `approval:${reference}`);
    const outboxId = await this.db.transaction(async (tx) => {
      if (input.claim && !(await input.claim(tx))) throw conflict('This application was filed already');
      await (input.storeOffer ? input.storeOffer(tx) : this.offerRepository.insert(prepared.entity, tx));
      row.outboxId = await this.chain.enqueue(tx, submit);
      await this.repository.insert(tx, row);
      await this.audit.append(
        {
          kind: 'approval.submitted',
          actor: input.actor,
          subject: `application:${reference}`,
          data: { applicationId, policyId: row.policyId, typeId: content.typeId, formats: content.formats, offerId },
        },
        tx,
      );
      return row.outboxId;
    });
    this.logger.log(
      { agencyId: agency.id, reference, applicationId, policyId: row.policyId, actor: input.actor },
      'joint-approval application submitted',
    );
    return { row, outboxId, readToken };
  }

  /**
   * The applicant's read token of an application: derived from its reference with an HMAC key of src/keys
   * (only its SHA-256 is stored), so it can be handed again to whoever holds the application's offer, i.e.
   * the wallet in its deferred credential response.
   */
  private async readTokenFor(reference: string): Promise<string> {
    return (await this.hmacKeys.hmacSha256(READ_TOKEN_KEY, `approval:${reference}`)).toString('base64url');
  }

  /**
   * For the credential endpoint's deferred answer: the application behind an offer (reference, where to
   * poll its state and timeline, and the read token), or undefined for an offer that is no application.
   */
  async applicantLink(offerId: string): Promise<{ reference: string; status_uri: string; read_token: string } | undefined> {
    const application = await this.repository.byOfferId(offerId);
    if (!application) return undefined;
    return {
      reference: application.id,
      status_uri: `${publicBaseUrl(this.config)}/approvals/${application.id}`,
      read_token: await this.readTokenFor(application.id),
    };
  }

  /** The applicant's view: the reference and the read token handed out at submission. */
  async forApplicant(reference: string, readToken: string | undefined) {
    const found = /^[0-9a-f-]{36}$/.test(reference) ? await this.repository.byId(reference) : null;
    if (!found || !readToken || !secretsEqual(sha256Hex(readToken), found.readTokenHash)) throw notFound('No such application');
    return this.view(found);
  }

  /** The agency's view of one of its applications. */
  async forAgency(agency: Agency, reference: string) {
    const found = /^[0-9a-f-]{36}$/.test(reference) ? await this.repository.byId(reference) : null;
    if (!found || found.agencyId !== agency.id) throw notFound(`No application ${reference} of this agency`);
    return this.view(found);
  }

  /**
   * The sealed content of an application by its chain id, or undefined when it is not ours or was erased at its
   * decision. `mayOpen` runs before anything is decrypted (the peer API's check of its caller): when it throws,
   * nothing is opened for that caller.
   */
  async content(
    applicationId: string,
    mayOpen?: (filed: ApprovalApplicationEntity) => Promise<void>,
  ): Promise<SealedApplication | undefined> {
    const found = await this.repository.byApplicationId(applicationId);
    if (!found || found.contentSealed === ERASED_CONTENT) return undefined;
    await mayOpen?.(found);
    return this.keys.openJson<SealedApplication>(found.contentSealed, sealContext(found.id));
  }

  /** `steps` when known (a row just filed has none), else read. */
  private async view(application: ApprovalApplicationEntity, steps?: ApprovalStepEntity[]) {
    return {
      reference: application.id,
      applicationId: application.applicationId,
      typeId: application.typeId,
      policyId: application.policyId,
      state: application.state,
      reasonCodes: application.reasonCodes,
      createdAt: application.createdAt.toISOString(),
      timeline: timelineView(steps ?? (await this.repository.steps([application.id]))),
    };
  }

  /** Records one chain event of one of our applications; an outcome settles it (once, whoever comes first). */
  async record(log: JointApprovalLog): Promise<void> {
    if (!('applicationId' in log.event)) return;
    const application = await this.repository.byApplicationId(log.event.applicationId);
    if (!application) return; // another department's application
    // The id on chain under another policy: someone else's submit took it first (our submit reverted); its
    // decisions say nothing about our application.
    const onChain = await this.chain.application(application.applicationId);
    if (onChain && onChain.policyId.toString() !== application.policyId) {
      this.logger.warn({ applicationId: application.applicationId }, 'application id taken on chain under another policy');
      return;
    }
    const step = stepOfEvent(log.event);
    if (!step) return;
    const row: ApprovalStepEntity = {
      id: stepId(application.id, step.step, step.department),
      applicationRef: application.id,
      ...step,
      txHash: log.txHash,
      blockNumber: log.blockNumber,
      at: new Date(),
    };
    const outcome = outcomeOfStep(step);
    if (!outcome) return this.repository.addStep(undefined, row);
    const settled = await this.db.transaction(async (tx) => {
      await this.repository.addStep(tx, row);
      const reasonCodes = step.reasonCode && outcome !== 'approved' ? [step.reasonCode] : [];
      if (!(await this.repository.settle(tx, application.id, outcome, reasonCodes))) return false;
      await this.offerRepository.settleApproval(tx, application.offerId, offerApprovalOf(outcome) as 'approved' | 'rejected');
      await this.audit.append(
        {
          kind: `approval.${outcome}`,
          actor: 'system',
          subject: `application:${application.id}`,
          data: { applicationId: application.applicationId, policyId: application.policyId, txHash: log.txHash, reasonCodes },
        },
        tx,
      );
      return true;
    });
    if (settled)
      this.logger.log({ reference: application.id, outcome, txHash: log.txHash }, 'joint-approval application settled');
  }

  /**
   * The reconcile step: every pending application's events read again from the chain (eth_getLogs by its
   * id), so outcomes reached while this department was down are applied; a refused submit ends it.
   */
  async reconcile(): Promise<void> {
    await this.repository.purgeWalletRequests(new Date());
    // A batch a round, going on from where the last round stopped: with more than a batch pending, every application
    // still gets its turn (missed events applied, deadlines expired), not only the oldest ones.
    const batch = await this.repository.pending(RECONCILE_BATCH, this.reconcileAfter);
    this.reconcileAfter =
      batch.length < RECONCILE_BATCH ? undefined : { createdAt: batch.at(-1)!.createdAt, id: batch.at(-1)!.id };
    // One application's failure (its chain read, its settling) does not hold up the others.
    await forEachIsolated(
      batch,
      (application) => this.reconcileOne(application),
      (error, application) =>
        this.logger.warn(
          { err: error, reference: application.id },
          'reconciling a joint-approval application failed; will retry',
        ),
    );
  }

  private async reconcileOne(application: ApprovalApplicationEntity): Promise<void> {
    const submit = await this.outbox.get(application.outboxId);
    if (submit?.status === 'reverted') return this.refuseSubmission(application);
    if (submit?.status !== 'mined') return;
    // From where this process last read it to the end (all recorded), else from its submission's block: a round reads
    // the blocks since the last one, not the application's whole life again.
    const from = this.logsReadTo.get(application.id) ?? submit.blockNumber ?? 0;
    const { logs, toBlock } = await this.chain.logsOf(application.applicationId, from);
    for (const log of logs) await this.record(log);
    this.logsReadTo.set(application.id, toBlock + 1);
    await this.expireIfPastDeadline(application);
  }

  /**
   * An application whose deadline passed can no longer be decided, but stays pending on chain until someone calls
   * expire: until then its content would be kept and served. The issuing department closes it (the contract lets any
   * member), once, simulated first; the watcher then settles it as expired and erases the content (ADR 46).
   */
  private async expireIfPastDeadline(application: ApprovalApplicationEntity): Promise<void> {
    const onChain = await this.chain.application(application.applicationId);
    if (onChain?.outcome !== 'Pending' || onChain.deadline === 0) return;
    if (await this.chain.queuedWrite(application.applicationId, 'approval:expire')) return;
    // The chain's clock decides, not ours (DeadlineNotPassed until its blocks pass the deadline): asked each round.
    if (await this.chain.expireRefusal(application.applicationId)) return;
    const write = await this.chain.expireWrite(application.applicationId);
    await this.db.transaction(async (tx) => {
      const outboxId = await this.chain.enqueue(tx, write);
      await this.audit.append(
        {
          kind: 'approval.expire.requested',
          actor: 'system',
          subject: `application:${application.applicationId}`,
          data: { applicationId: application.applicationId, outboxId, reason: 'deadline passed' },
        },
        tx,
      );
    });
  }

  private async refuseSubmission(application: ApprovalApplicationEntity): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.repository.settle(tx, application.id, 'rejected', [SUBMISSION_REFUSED]))) return;
      await this.offerRepository.settleApproval(tx, application.offerId, 'rejected');
      await this.audit.append(
        {
          kind: 'approval.rejected',
          actor: 'system',
          subject: `application:${application.id}`,
          data: { applicationId: application.applicationId, policyId: application.policyId, reasonCodes: [SUBMISSION_REFUSED] },
        },
        tx,
      );
    });
  }
}
