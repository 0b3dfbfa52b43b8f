import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { notFound, ProblemError } from '../../common/index.js';
import { Database } from '../../persistence/index.js';
import { OutboxService, OutboxWorker, TrustedIssuerRegistry, type OutboxEntry } from '../../chain/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { Catalogue } from '../../credentials/index.js';
import { AgencyService } from '../agencies/agency.service.js';
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
  ) {}

  onApplicationBootstrap(): void {
    this.worker.onMined((entry) => this.onMined(entry));
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

  private async onMined(entry: OutboxEntry): Promise<void> {
    if (!entry.ref?.startsWith('authorisation:')) return;
    const authorisation = await this.repository.byOutboxId(entry.id);
    if (!authorisation) return;
    const settled = authorisation.status === 'granting' ? 'active' : 'withdrawn';
    await this.repository.setAuthorisationStatus(
      authorisation.agencyId,
      authorisation.typeId,
      entry.id,
      entry.status === 'mined' ? settled : authorisation.status,
    );
  }
}
