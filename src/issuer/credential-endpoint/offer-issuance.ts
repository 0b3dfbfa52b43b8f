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

/** What a wallet is handed for an offer's configuration (OID4VCI 1.0 §8.3). */
export interface OfferDelivery {
  credentials: { credential: string }[];
  notificationId: string;
}

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
   * With `eraseClaims` (the offer's last configuration), the citizen's sealed claims are erased. Everything
   * commits in the transaction of the credentials (one per holder key): the credentials, the erasure, the
   * application's "issued" step, the notification id, and `claim`'s rows (a single-use claim, which must
   * throw to refuse the issuance; it sees what it would hand out). A failure anywhere leaves none of it, so
   * the wallet's retry finds the offer as it was.
   */
  async issue(
    offer: CredentialOfferEntity,
    configuration: string,
    holderKeys: JsonWebKey[],
    eraseClaims: boolean,
    claim?: (tx: Tx, delivered: OfferDelivery) => Promise<void>,
  ): Promise<OfferDelivery> {
    const { typeId, format } = parseConfigurationId(configuration)!;
    const agency = (await this.agencies.byId(offer.agencyId))!;
    const claims = await this.keys.openJson<Record<string, unknown>>(offer.claimsSealed!, `offer:${offer.id}`);
    const application = offer.approval !== null ? await this.approvals.byOfferId(offer.id) : null;
    const notificationId = randomUUID();
    let delivered: OfferDelivery | undefined;
    await this.issuance.issueAll(
      agency,
      // OID4VCI 1.0 Appendix A.1.1: `jwt_vc_json` is a VCDM 1.1 credential ([VC_DATA]) secured as a JWT, the
      // credential in the `vc` claim (VCDM 1.1 §6.3.1), as a wallet written from the spec reads it (ADR 42).
      holderKeys.map((holderJwk) => ({
        typeId,
        claims,
        format,
        holderJwk,
        ...(format === 'jwt_vc_json' ? { dataModel: '1.1' as const } : {}),
      })),
      async (tx, issued) => {
        delivered = { credentials: issued.map(({ credential }) => ({ credential })), notificationId };
        await claim?.(tx, delivered);
        if (eraseClaims) await this.offers.eraseClaims(offer.id, tx);
        if (application) await this.approvals.recordIssued(application.id, configuration, tx);
        await this.notifications.insert(
          {
            id: notificationId,
            offerId: offer.id,
            credentialIds: issued.map(({ id }) => id),
            event: null,
            description: null,
            reportedAt: null,
          },
          tx,
        );
      },
    );
    return delivered!;
  }
}
