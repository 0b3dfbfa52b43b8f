import { Injectable, Logger } from '@nestjs/common';
import { credentialFingerprints, UsageLog } from '../../audit/index.js';
import type { Verdict } from '../../oid4vp/index.js';
import { RelyingPartyService } from '../relying-parties/relying-party.service.js';
import type { PresentationRequestEntity } from './presentation-request.entity.js';

/**
 * Records each presentation verdict in the audit trail and in the holders' usage log (ADR 16): relying
 * party, purpose, disclosed claim NAMES, verdict; the presented credentials only as fingerprints.
 */
@Injectable()
export class PresentationAudit {
  private readonly logger = new Logger('PresentationAudit');

  constructor(
    private readonly parties: RelyingPartyService,
    private readonly usage: UsageLog,
  ) {}

  /** `presented` are the vp_token's presentations, in the verdict's order (empty for a wallet error). */
  async record(request: Pick<PresentationRequestEntity, 'id' | 'relyingPartyId'>, verdict: Verdict, presented: string[]) {
    try {
      const party = await this.parties.byId(request.relyingPartyId);
      await this.usage.recordVerdict({
        presentationRequestId: request.id,
        relyingParty: { id: request.relyingPartyId, name: party?.name ?? '(deleted)', purpose: party?.purpose ?? '' },
        verified: verdict.verified,
        credentials: verdict.credentials.map((credential, index) => ({
          type: credential.type,
          issuer: credential.issuer,
          claimNames: Object.keys(credential.claims ?? {}),
          fingerprints: credentialFingerprints(presented[index]),
        })),
      });
    } catch (error) {
      // The verdict stands; a missing record is logged loudly (the trail's gap shows in no hash, so alert on this).
      this.logger.error({ err: error, presentationRequestId: request.id }, 'recording the verdict in the audit trail failed');
    }
  }
}
