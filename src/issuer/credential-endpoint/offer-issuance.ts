import { Injectable } from '@nestjs/common';
import { randomUUID, type JsonWebKey } from 'node:crypto';
import { KeyService } from '../../keys/index.js';
import type { Tx } from '../../persistence/index.js';
import { parseConfigurationId } from '../../oid4vci/index.js';
import { AgencyRepository } from '../agencies/agency.repository.js';
import { IssuanceService } from '../credentials/issuance.service.js';
import type { CredentialOfferEntity } from '../offers/offer.entity.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { ApprovalRepository } from '../approvals/approval.repository.js';
import { NotificationRepository } from './notification.repository.js';

/** Issues an offer's credentials, one per proven holder key, through the VC-API issuance (same records, same status). */
@Injectable()
export class OfferIssuance {
  constructor(
    private readonly agencies: AgencyRepository,
    private readonly keys: KeyService,
    private readonly issuance: IssuanceService,
    private readonly offers: OfferRepository,
    private readonly notifications: NotificationRepository,
    private readonly approvals: ApprovalRepository,
  ) {}

  /**
   * With `eraseClaims` (the offer's last configuration), the citizen's sealed claims are erased afterwards.
   * `claim` runs inside the transaction that commits the first credential (and must throw to refuse it), so a
   * single-use claim and the credential record commit together or not at all.
   */
  async issue(
    offer: CredentialOfferEntity,
    configuration: string,
    holderKeys: JsonWebKey[],
    eraseClaims: boolean,
    claim?: (tx: Tx) => Promise<void>,
  ) {
    const { typeId, format } = parseConfigurationId(configuration)!;
    const agency = (await this.agencies.byId(offer.agencyId))!;
    const claims = await this.keys.openJson<Record<string, unknown>>(offer.claimsSealed!, `offer:${offer.id}`);
    const credentials: { credential: string }[] = [];
    const credentialIds: string[] = [];
    for (const holderJwk of holderKeys) {
      const first = credentialIds.length === 0;
      const issued = await this.issuance.issue(
        agency,
        { typeId, claims, format, holderJwk },
        first && claim ? { inTransaction: (tx) => claim(tx) } : {},
      );
      credentials.push({ credential: issued.credential });
      credentialIds.push(issued.id);
    }
    if (eraseClaims) await this.offers.eraseClaims(offer.id);
    if (offer.approval !== null) await this.approvals.recordIssued(offer.id, configuration);
    const notificationId = randomUUID();
    await this.notifications.insert({
      id: notificationId,
      offerId: offer.id,
      credentialIds,
      event: null,
      description: null,
      reportedAt: null,
    });
    return { credentials, notificationId };
  }
}
