import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { forEachIsolated, notFound, ProblemError } from '../../common/index.js';
import { Database } from '../../persistence/index.js';
import {
  ChainEvents,
  contractInterface,
  isSettled,
  OutboxService,
  OutboxWorker,
  Reconciler,
  TrustedIssuerRegistry,
  type OutboxEntry,
} from '../../chain/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { Catalogue } from '../../credentials/index.js';
import { AgencyService } from '../agencies/agency.service.js';
import { AuditLog } from '../../audit/index.js';
import { CredentialRepository } from './credential.repository.js';
import type { AgencyAuthorisationEntity, AuthorisationStatus } from './credential.entity.js';

export interface AuthorisationView {
  typeId: string;
  status: AuthorisationStatus;
  updatedAt: Date;
}

const authorisationRef = (agencyId: string, typeId: string) => `authorisation:${agencyId}:${typeId}`;

/**
 * Grants and withdraws an agency's authorisation for a credential type. The chain's trusted-issuer
 * registry is the source of truth for verifiers; the database mirrors it for issuance decisions.
 */
@Injectable()
export class AuthorisationService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AuthorisationService');
  constructor(
    private readonly db: Database,
    private readonly agencies: AgencyService,
    private readonly catalogue: Catalogue,
    private readonly repository: CredentialRepository,
    private readonly outbox: OutboxService,
    private readonly worker: OutboxWorker,
    private readonly registry: TrustedIssuerRegistry,
    private readonly reconciler: Reconciler,
    private readonly events: ChainEvents,
    private readonly audit: AuditLog,
  ) {
    events.onIdentityChanged(() => this.forgetActive());
  }

  onApplicationBootstrap(): void {
    this.worker.onMined((entry) => this.onMined(entry));
    this.reconciler.register({ name: 'authorisations', run: () => this.reconcile() });
    // The registry changes when a proposal executes: by our write (one member) or by another member's vote.
    const topic = contractInterface('GovernedIssuerRegistry').getEvent('IssuerAuthorisation')!.topicHash;
    this.events.onLog((log) => {
      if (log.topics[0] === topic) this.settleSoon();
    });
  }

  private settling: Promise<void> | undefined;
  private settleAgain = false;

  /** One reconcile pass after registry events; events during a pass cause exactly one more. */
  private settleSoon(): void {
    // Events of a journal being replayed: the reconciler runs a round once the replay is done.
    if (this.reconciler.held) return;
    if (this.settling) {
      this.settleAgain = true;
      return;
    }
    this.settling = this.reconcile()
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'settling authorisations on a registry event failed; the reconciler retries'),
      )
      .finally(() => {
        this.settling = undefined;
        if (this.settleAgain) {
          this.settleAgain = false;
          this.settleSoon();
        }
      });
  }

  async set(agencyIdOrSlug: string, typeId: string, authorised: boolean): Promise<AuthorisationView> {
    const agency = await this.agencies.get(agencyIdOrSlug);
    if (!this.catalogue.get(typeId)) throw notFound(`No credential type "${typeId}" in the catalogue`);
    const write = await this.registry.authorisationWrite(
      ethrDidAddress(agency.did)!,
      typeId,
      authorised,
      authorisationRef(agency.id, typeId),
    );
    const target = authorised ? 'granting' : 'withdrawing';
    // The same change asked again while it is on its way (a retry after a lost answer) is that change: a second
    // proposal would be a second vote to count and a second audit entry. On its way: its write not settled yet, or
    // mined as a proposal still open for votes. One that was dropped, or expired, is proposed again.
    const current = await this.repository.authorisation(agency.id, typeId);
    if (current?.status === target && (await this.onItsWay(current.outboxId, agency.did, typeId, authorised)))
      return { typeId, status: current.status, updatedAt: current.updatedAt };
    const view = await this.db.transaction(async (tx): Promise<AuthorisationView> => {
      const [outboxId] = await this.outbox.enqueue(tx, [write]);
      this.forgetActive();
      const updatedAt = new Date();
      await this.repository.saveAuthorisation(tx, {
        agencyId: agency.id,
        typeId,
        status: target,
        outboxId: outboxId!,
        updatedAt,
      });
      const event = { type: typeId, authorised, outboxId: outboxId! };
      await this.audit.append(
        { kind: 'agency.authorisation.changed', actor: 'operator', subject: `agency:${agency.id}`, data: event },
        tx,
      );
      // The answer is what was committed: a read after the commit could fail and make the operator ask again.
      return { typeId, status: target, updatedAt };
    });
    this.forgetActive(); // also after the commit: a lookup during the transaction may have read the old row
    this.logger.log({ agencyId: agency.id, typeId, authorised }, 'authorisation change queued');
    return view;
  }

  private async onItsWay(outboxId: string, did: string, typeId: string, authorised: boolean): Promise<boolean> {
    const write = await this.outbox.get(outboxId);
    if (!write) return false;
    if (!isSettled(write.status)) return true;
    return write.status === 'mined' && (await this.registry.proposalOpen(ethrDidAddress(did)!, typeId, authorised));
  }

  async list(agencyIdOrSlug: string): Promise<AuthorisationView[]> {
    const agency = await this.agencies.get(agencyIdOrSlug);
    return (await this.repository.authorisations(agency.id)).map(({ typeId, status, updatedAt }) => ({
      typeId,
      status,
      updatedAt,
    }));
  }

  /** Refuses issuance unless the agency's authorisation for the type is anchored on chain. */
  async assertMayIssue(agencyId: string, typeId: string): Promise<void> {
    // Remembered while active (CredentialRepository.authorisationStatus): forgotten when any replica changes the
    // row (the table's change feed), when this one does (forgetActive, at its commit) and on every chain event of
    // the watched registries (a grant or withdrawal voted by other members); a read that overlapped any of these
    // is answered but not kept.
    const status = await this.repository.authorisationStatus(agencyId, typeId);
    if (status === 'active') return;
    const detail =
      status === 'granting'
        ? `The authorisation for ${typeId} is not anchored on chain yet`
        : `This agency is not authorised to issue ${typeId}`;
    throw new ProblemError(403, 'not_authorised_for_type', 'Not authorised for this credential type', detail);
  }

  /**
   * Settles the authorisation a mined proposal changed. A mined proposal executed at once only when this
   * department's vote met the threshold: the registry, not the receipt, says whether it did. The state
   * comes from the write's content (AuthoriseIssuer / WithdrawIssuer), never from toggling the current
   * row, so running twice (two replicas, a retry) changes nothing; only the row this entry last changed
   * is touched. A proposal still waiting for votes leaves the row granting / withdrawing.
   */
  private async onMined(entry: OutboxEntry): Promise<void> {
    if (!entry.ref?.startsWith('authorisation:') || entry.status !== 'mined') return;
    const authorised = this.registry.decodeAuthorisationWrite(entry.data);
    if (authorised === undefined) return;
    const authorisation = await this.repository.byOutboxId(entry.id);
    if (!authorisation) return;
    const agency = await this.agencies.get(authorisation.agencyId);
    if ((await this.registry.isAuthorisedOnChain(ethrDidAddress(agency.did)!, authorisation.typeId)) !== authorised) return;
    await this.repository.setAuthorisationStatus(
      authorisation.agencyId,
      authorisation.typeId,
      entry.id,
      authorised ? 'active' : 'withdrawn',
    );
    this.forgetActive();
  }

  private forgetActive(): void {
    this.repository.forgetAuthorisations();
  }

  /** How many active authorisations are remembered (for tests and the bench). */
  get cachedActive(): number {
    return this.repository.rememberedAuthorisations;
  }

  /**
   * Reconcile step (also run on every registry event): every authorisation whose last write is final
   * (mined or reverted) is set to what the registry says now. Repairs a listener that never ran (crash),
   * a reverted write (AuthorisationUnchanged: "already so") and settles changes voted by other members.
   * A change still on its way, or proposed and waiting for votes (also after DuplicateProposal), is left alone.
   */
  async reconcile(): Promise<void> {
    // One authorisation that cannot be settled (its agency gone, a read that fails) does not hold up the others.
    await forEachIsolated(
      await this.repository.allAuthorisations(),
      (authorisation) => this.reconcileOne(authorisation),
      (error, authorisation) =>
        this.logger.warn(
          { err: error, agencyId: authorisation.agencyId, typeId: authorisation.typeId },
          'reconciling an authorisation failed; will retry',
        ),
    );
  }

  private async reconcileOne(authorisation: AgencyAuthorisationEntity): Promise<void> {
    if (this.reconciler.held) return; // the node died during this pass: its reads are partial from now on
    const write = await this.outbox.get(authorisation.outboxId);
    if (!write || !isSettled(write.status)) return;
    const agency = await this.agencies.get(authorisation.agencyId);
    const onChain = await this.registry.isAuthorisedOnChain(ethrDidAddress(agency.did)!, authorisation.typeId);
    const truth = onChain ? 'active' : 'withdrawn';
    if (authorisation.status === truth) return;
    const intended = authorisation.status === 'granting' ? true : authorisation.status === 'withdrawing' ? false : undefined;
    if (
      intended !== undefined &&
      intended !== onChain &&
      (await this.registry.proposalOpen(ethrDidAddress(agency.did)!, authorisation.typeId, intended))
    ) {
      return;
    }
    await this.repository.setAuthorisationStatus(authorisation.agencyId, authorisation.typeId, write.id, truth);
    this.forgetActive();
    this.logger.warn(
      { agencyId: authorisation.agencyId, typeId: authorisation.typeId, was: authorisation.status, now: truth },
      'authorisation reconciled with the chain',
    );
  }
}
