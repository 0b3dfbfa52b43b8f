import { Injectable } from '@nestjs/common';
import { credentialFingerprints, UsageLog, type VerdictRecord } from '../../audit/index.js';
import type { Verdict, VerdictCredential } from '../../oid4vp/index.js';
import type { Tx } from '../../persistence/index.js';
import { RelyingPartyService } from '../relying-parties/relying-party.service.js';
import type { PresentationRequestEntity } from './presentation-request.entity.js';

/** The refusal reason of a response whose data-sharing permission was withdrawn on chain since the request. */
export const DATA_SHARING_REFUSAL = 'data sharing:';

/** The presentation is the issuer's credential shown by its holder: both checks ran and passed. */
const isAuthentic = (credential: VerdictCredential): boolean =>
  (['signature', 'holder_binding'] as const).every((name) =>
    credential.checks?.some((check) => check.check === name && check.passed),
  );

/**
 * Records each presentation verdict in the audit trail and in the holders' usage log (ADR 16): relying
 * party, purpose, disclosed claim NAMES, verdict; the presented credentials only as fingerprints. The record
 * commits with the verdict itself (ADR 29): whoever can read a verdict can read its record.
 */
@Injectable()
export class PresentationAudit {
  constructor(
    private readonly parties: RelyingPartyService,
    private readonly usage: UsageLog,
  ) {}

  /**
   * What will be recorded; read before the verdict's transaction (the relying party's name and purpose). Undefined
   * when nothing is to be recorded: a rejected answer in which no presentation is authentic (issuer signature and
   * holder binding both passed) used nobody's credential. Anyone may answer a request (its QR code is public),
   * and anonymous pages create requests, so junk answers must not each leave an entry for ever; nor may someone who
   * copied a citizen's credential, without its key, write refused uses into that citizen's records.
   */
  async recordOf(
    request: Pick<PresentationRequestEntity, 'id' | 'relyingPartyId' | 'purpose'>,
    verdict: Verdict,
    presented: string[],
  ): Promise<VerdictRecord | undefined> {
    const authentic = verdict.credentials.map(isAuthentic);
    // A refusal by our own policy (a data-sharing permission withdrawn on chain) is the party's event, not junk.
    const byPolicy = verdict.reason?.startsWith(DATA_SHARING_REFUSAL) === true;
    if (!verdict.verified && !byPolicy && !authentic.some(Boolean)) return undefined;
    const party = await this.parties.byId(request.relyingPartyId);
    return {
      presentationRequestId: request.id,
      relyingParty: {
        id: request.relyingPartyId,
        name: party?.name ?? '(deleted)',
        purpose: request.purpose ?? party?.purpose ?? '',
      },
      verified: verdict.verified,
      credentials: verdict.credentials.map((credential, index) => ({
        type: credential.type,
        issuer: credential.issuer,
        claimNames: Object.keys(credential.claims ?? {}),
        // Only a presentation its holder proved is a use of that credential in the holder's records.
        // Only the one credential a presentation is (credentialFingerprints gives none for a JWT VP carrying more).
        fingerprints: authentic[index] ? credentialFingerprints(presented[index]) : [],
        ...(credential.discarded ? { discarded: true as const } : {}),
      })),
    };
  }

  /** Writes the record inside the transaction that completes the request. */
  write(record: VerdictRecord, tx: Tx): Promise<void> {
    return this.usage.recordVerdict(record, tx);
  }
}
