import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { credentialTypeKey, JointApprovalChain } from '../../chain/index.js';
import { ProblemError, randomToken, sha256Hex } from '../../common/index.js';
import { Database, isUniqueViolation, type Tx } from '../../persistence/index.js';
import { Catalogue } from '../../credentials/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { oauthError } from '../../oauth/index.js';
import { parseConfigurationId } from '../../oid4vci/index.js';
import { AgencyRepository, type Agency } from '../agencies/agency.repository.js';
import { ApplicationRefused, type WalletApplications } from '../authorization-server/wallet-applications.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { OfferService } from '../offers/offer.service.js';
import { walletApplicationTarget } from './approval-rules.js';
import { ApprovalRepository } from './approval.repository.js';
import { APPLICATION_OFFER_SECONDS, ApprovalService } from './approval.service.js';

/**
 * Wallet-started applications (issue 16, ADR 17 addendum): a wallet asks the authorization server for a
 * credential type under a joint-approval policy that names us as the submitting department (no offer, no
 * back office); once the CitizenAuthenticator has signed the citizen in, the application is filed with the
 * claims the identity provider vouches for, exactly like one from the agency API (content sealed, salted
 * digest and policy id on chain through the outbox, offer and application in one transaction). The wallet's
 * credential request is then deferred until the contract says Approved.
 */
@Injectable()
export class WalletApplicationService implements WalletApplications {
  private readonly logger = new Logger('WalletApplications');

  constructor(
    private readonly approvals: ApprovalService,
    private readonly repository: ApprovalRepository,
    private readonly agencies: AgencyRepository,
    private readonly offers: OfferService,
    private readonly chain: JointApprovalChain,
    private readonly catalogue: Catalogue,
    private readonly offerRepository: OfferRepository,
    private readonly db: Database,
  ) {}

  async start(configurationIds: readonly string[], expiresAt: Date): Promise<string> {
    const target = walletApplicationTarget(configurationIds, parseConfigurationId);
    if ('problem' in target) throw oauthError(400, 'invalid_request', `Without issuer_state: ${target.problem}`);
    const type = this.catalogue.get(target.typeId);
    const agency = type && type.status !== 'retired' ? await this.issuingAgency(type.id) : undefined;
    if (!agency)
      throw oauthError(
        400,
        'invalid_request',
        'issuer_state does not name an open credential offer, and no joint-approval policy lets a wallet apply for this type here',
      );
    // The authorization session names an offer: a draft without claims, redeemable by nobody (its
    // pre-authorized code is never shown; the authorization code comes only after the sign-in filed the
    // application) and expiring with the pushed request unless the sign-in completes it.
    const id = randomUUID();
    const now = new Date();
    const configurations = [...new Set(configurationIds)];
    await this.db.transaction(async (tx) => {
      await this.offerRepository.insert(
        {
          id,
          agencyId: agency.id,
          typeId: target.typeId,
          configurationIds: configurations,
          issuedConfigurations: [],
          claimsSealed: null,
          offerSealed: null,
          flow: 'authorization_code',
          approval: 'pending',
          preAuthCodeHash: sha256Hex(randomToken(32)),
          txCodeHash: null,
          txCodeFailures: 0,
          status: 'offered',
          expiresAt,
          createdAt: now,
        },
        tx,
      );
      await this.repository.insertWalletRequest(
        { id, agencyId: agency.id, typeId: target.typeId, configurationIds: configurations, createdAt: now, expiresAt },
        tx,
      );
    });
    return id;
  }

  async describe(offerId: string) {
    const request = await this.repository.walletRequest(offerId, new Date());
    if (!request) return undefined;
    const agency = await this.agencies.byId(request.agencyId);
    const type = this.catalogue.get(request.typeId);
    return {
      agencyName: agency?.name ?? '',
      typeId: request.typeId,
      typeName: type ? `${type.display['zh-CN'].name} / ${type.display.en.name}` : request.typeId,
    };
  }

  async complete(
    offerId: string,
    citizen: { subject: string; claims: Record<string, unknown> },
    inTransaction: (tx: Tx) => Promise<void>,
  ): Promise<void> {
    const request = await this.repository.walletRequest(offerId, new Date());
    const agency = request ? await this.agencies.byId(request.agencyId) : null;
    if (!request || !agency) throw new ApplicationRefused('The application request expired; start again from the wallet');
    const formats = request.configurationIds.map((id) => parseConfigurationId(id)!.format);
    let policy, prepared;
    try {
      policy = await this.approvals.policyFor(agency, request.typeId);
      // The claims are checked against the catalogue schema like an officer's; the offer keeps the id the session names.
      prepared = await this.offers.prepareOffer(
        agency,
        {
          type: request.typeId,
          formats,
          claims: citizen.claims,
          flow: 'authorization_code',
          txCode: false,
          requiresApproval: true,
          expiresInSeconds: APPLICATION_OFFER_SECONDS,
        },
        { id: offerId },
      );
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500)
        throw new ApplicationRefused(`The application cannot be filed: ${error.detail ?? error.title}`);
      throw error;
    }
    const reference = randomUUID();
    const { row } = await this.approvals
      .file({
        agency,
        policy,
        prepared,
        reference,
        formats,
        claims: citizen.claims,
        actor: 'wallet',
        applicant: citizen.subject,
        // The waiting request is consumed in the same transaction (two sign-ins at once file one application),
        // and the caller's authorization code is stored in it: the wallet can always follow what is filed.
        claim: async (tx) => {
          if (!(await this.repository.claimWalletRequest(tx, offerId))) return false;
          await inTransaction(tx);
          return true;
        },
        storeOffer: async (tx) => {
          if (!(await this.offerRepository.completeDraft(tx, offerId, prepared.entity.claimsSealed!, prepared.entity.expiresAt)))
            throw new ApplicationRefused('The application request expired; start again from the wallet');
        },
      })
      .catch((error: unknown) => {
        // The partial unique index on (applicant, type) of pending applications: nothing of this one was kept.
        if (isUniqueViolation(error))
          throw new ApplicationRefused(
            'You already have an application for this licence waiting for a decision; follow it, or apply again once it is decided',
          );
        throw error;
      });
    this.logger.log({ reference, applicationId: row.applicationId, typeId: request.typeId }, 'wallet-started application filed');
  }

  /** Our active agency that the type's active policy names as issuer, when the policy names us as submitter. */
  private async issuingAgency(typeId: string): Promise<Agency | undefined> {
    let policy;
    try {
      policy = await this.chain.activePolicy(credentialTypeKey(typeId));
    } catch (error) {
      // The chain node down (a 503 problem already) or no consortium followed yet: try again later.
      if (error instanceof ProblemError) throw error;
      throw oauthError(503, 'temporarily_unavailable', 'The joint-approval policies cannot be read from the chain now');
    }
    if (!policy?.active || policy.terms.issuingDepartment !== (await this.chain.controllerAddress())) return undefined;
    return (await this.agencies.withStatus('active')).find((agency) => ethrDidAddress(agency.did) === policy.terms.issuingAgency);
  }
}
