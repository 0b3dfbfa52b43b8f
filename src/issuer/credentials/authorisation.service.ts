import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { notFound, ProblemError } from '../../common/index.js';
import { Database } from '../../persistence/index.js';
import { OutboxService, OutboxWorker, Reconciler, TrustedIssuerRegistry, type OutboxEntry } from '../../chain/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { Catalogue } from '../../credentials/index.js';
import { AgencyService } from '../agencies/agency.service.js';
import { AuditLog } from '../../audit/index.js';
import { CredentialRepository } from './credential.repository.js';
import type { AuthorisationStatus } from './credential.entity.js';

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
    private readonly audit: AuditLog,
  ) {}

  onApplicationBootstrap(): void {
    this.worker.onMined((entry) => this.onMined(entry));
    this.reconciler.register({ name: 'authorisations', run: () => this.reconcile() });
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
    await this.db.transaction(async (tx) => {
      const [outboxId] = await this.outbox.enqueue(tx, [write]);
      await this.repository.saveAuthorisation(tx, {
        agencyId: agency.id,
        typeId,
        status: authorised ? 'granting' : 'withdrawing',
        outboxId: outboxId!,
        updatedAt: new Date(),
      });
      const event = { type: typeId, authorised, outboxId: outboxId! };
      await this.audit.append(
        { kind: 'agency.authorisation.changed', actor: 'operator', subject: `agency:${agency.id}`, data: event },
        tx,
      );
    });
    this.logger.log({ agencyId: agency.id, typeId, authorised }, 'authorisation change queued');
    return this.view(agency.id, typeId);
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
    const authorisation = await this.repository.authorisation(agencyId, typeId);
    if (authorisation?.status === 'active') return;
    const detail =
      authorisation?.status === 'granting'
        ? `The authorisation for ${typeId} is not anchored on chain yet`
        : `This agency is not authorised to issue ${typeId}`;
    throw new ProblemError(403, 'not_authorised_for_type', 'Not authorised for this credential type', detail);
  }

  private async view(agencyId: string, typeId: string): Promise<AuthorisationView> {
    const found = (await this.repository.authorisation(agencyId, typeId))!;
    return { typeId: found.typeId, status: found.status, updatedAt: found.updatedAt };
  }

  /**
   * Settles the authorisation a mined registry write changed. The state comes from the write's content
   * (setAuthorised(issuer, type, true|false)), never from toggling the current row, so running twice
   * (two replicas, a retry) changes nothing; only the row this entry last changed is touched.
   */
  private async onMined(entry: OutboxEntry): Promise<void> {
    if (!entry.ref?.startsWith('authorisation:') || entry.status !== 'mined') return;
    const authorised = this.registry.decodeAuthorisationWrite(entry.data);
    if (authorised === undefined) return;
    const authorisation = await this.repository.byOutboxId(entry.id);
    if (!authorisation) return;
    await this.repository.setAuthorisationStatus(
      authorisation.agencyId,
      authorisation.typeId,
      entry.id,
      authorised ? 'active' : 'withdrawn',
    );
  }

  /**
   * Reconcile step: every authorisation whose last write is final (mined or reverted) is set to what the
   * trusted-issuer registry says now. Repairs a state flipped by an older version, a listener that never
   * ran (crash) and a reverted write. A change still on its way is left alone.
   */
  async reconcile(): Promise<void> {
    for (const authorisation of await this.repository.allAuthorisations()) {
      const write = await this.outbox.get(authorisation.outboxId);
      if (!write || (write.status !== 'mined' && write.status !== 'reverted')) continue;
      const agency = await this.agencies.get(authorisation.agencyId);
      const onChain = await this.registry.isAuthorisedOnChain(ethrDidAddress(agency.did)!, authorisation.typeId);
      const truth = onChain ? 'active' : 'withdrawn';
      if (authorisation.status === truth) continue;
      await this.repository.setAuthorisationStatus(authorisation.agencyId, authorisation.typeId, write.id, truth);
      this.logger.warn(
        { agencyId: authorisation.agencyId, typeId: authorisation.typeId, was: authorisation.status, now: truth },
        'authorisation reconciled with the chain',
      );
    }
  }
}
