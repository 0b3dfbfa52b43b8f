import { Inject, Injectable, Logger } from '@nestjs/common';
import QRCode from 'qrcode';
import { notFound, pollIntervalMs, secretsEqual, sha256Hex, webhookDeliveries } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { SealedSecrets } from '../../keys/index.js';
import { verdictView, type Verdict, type VerdictView } from '../../oid4vp/index.js';
import type { RelyingPartyEntity } from '../relying-parties/relying-party.entity.js';
import { RelyingPartyService, webhookSecretContext } from '../relying-parties/relying-party.service.js';
import { postWebhook } from '../webhook.js';
import type { PresentationRequestEntity } from './presentation-request.entity.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';
import { PresentationSeals } from './presentation-seals.js';

/**
 * Verdicts to the relying party: polled by its back-office (API key) or its desk page (view token), pushed
 * to its webhook. A same-device verdict is released only with the response_code (see verdictView).
 */
@Injectable()
export class VerdictDeliveryService {
  private readonly logger = new Logger('VerdictDeliveryService');
  private readonly retentionSeconds: number;
  /** The desk page's poll of the verdict, within its per-request limit. */
  private readonly deskPollMs: number;

  constructor(
    private readonly requests: PresentationRequestRepository,
    private readonly parties: RelyingPartyService,
    private readonly seals: PresentationSeals,
    private readonly secrets: SealedSecrets,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.retentionSeconds = config.oid4vp.verdictRetentionSeconds;
    this.deskPollMs = pollIntervalMs([config.platform.rateLimitPerResourcePerMinute], config.platform.pagePollMs);
  }

  /** The party's own request: status and, when released, the verdict. */
  async result(party: RelyingPartyEntity, id: string, responseCode?: unknown): Promise<VerdictView> {
    const request = await this.requests.byId(id);
    if (!request || request.relyingPartyId !== party.id) throw notFound(`No presentation request ${id}`);
    return this.poll(request, responseCode);
  }

  /**
   * The desk page polls with its view token (no API key in the browser). A same-device verdict needs the
   * response_code as well: the view token alone would let whoever holds the desk link read the verdict of a
   * flow completed on another device (session fixation, OID4VP 1.0 §13.3).
   */
  async resultForView(
    id: string,
    viewToken: unknown,
    responseCode?: unknown,
    ownedBy?: (relyingPartyId: string) => Promise<boolean>,
  ): Promise<VerdictView> {
    const request = await this.requestForView(id, viewToken);
    // A caller that serves only its own party's requests (the citizens' records page) names it: a view token
    // is a capability on one verdict at its own party's desk, never on another page that reads more.
    if (ownedBy && !(await ownedBy(request.relyingPartyId))) throw notFound(`No presentation request ${id}`);
    return this.poll(request, responseCode);
  }

  /** What the desk page shows: the party, the QR code of the link. */
  async deskView(id: string, viewToken: unknown) {
    const request = await this.requestForView(id, viewToken);
    const party = (await this.parties.byId(request.relyingPartyId))!;
    if (request.status !== 'pending' && request.purgedAt) throw notFound(`No presentation request ${id}`);
    const { link } = await this.seals.openRequest(request);
    return {
      id,
      viewToken: viewToken as string, // checked by requestForView
      partyName: party.name,
      purpose: party.purpose,
      link,
      qrSvg: await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }),
      pollMs: this.deskPollMs,
    };
  }

  /**
   * Pushes the verdict to the party's webhook, signed so that it cannot be forged:
   * x-chancery-signature = v1=HMAC-SHA256(webhook secret, "<x-chancery-timestamp>.<body>") in hex, computed
   * inside src/keys with the sealed secret. Delivery failures are logged; the party can still poll.
   */
  /**
   * The verdict to the party's webhook. A same-device request's verdict is released only with its response_code
   * (OID4VP 1.0 §13.3): its webhook says it was answered and carries no result, as GET does without the code.
   */
  async notify(
    request: Pick<PresentationRequestEntity, 'id' | 'relyingPartyId'>,
    verdict: Verdict,
    responseCodeRequired = false,
  ): Promise<void> {
    // Called without await after the verdict is stored: nothing may escape (a database outage here would
    // otherwise be an unhandled rejection, which ends the process).
    try {
      const party = await this.parties.byId(request.relyingPartyId);
      if (!party?.webhookUrl || !party.webhookSecretSealed) return;
      const status = verdict.verified ? 'verified' : 'rejected';
      const body = JSON.stringify(
        responseCodeRequired
          ? { id: request.id, status, responseCodeRequired: true }
          : { id: request.id, status, result: verdict },
      );
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = await this.secrets.hmacSha256(
        party.webhookSecretSealed,
        webhookSecretContext(party.id),
        `${timestamp}.${body}`,
      );
      const answered = await postWebhook(
        party.webhookUrl,
        body,
        { 'content-type': 'application/json', 'x-chancery-timestamp': timestamp, 'x-chancery-signature': `v1=${signature}` },
        this.parties.webhookPolicy,
      );
      const delivered = answered >= 200 && answered < 300;
      webhookDeliveries.inc({ outcome: delivered ? 'delivered' : 'refused' });
      if (!delivered) this.logger.warn({ presentationRequestId: request.id, status: answered }, 'webhook answered with an error');
    } catch (error) {
      webhookDeliveries.inc({ outcome: 'failed' });
      this.logger.warn({ presentationRequestId: request.id, reason: (error as Error).message }, 'webhook delivery failed');
    }
  }

  private async requestForView(id: string, viewToken: unknown): Promise<PresentationRequestEntity> {
    const request = await this.requests.byId(id);
    if (!request || typeof viewToken !== 'string' || !secretsEqual(sha256Hex(viewToken), request.viewTokenHash)) {
      throw notFound(`No presentation request ${id}`);
    }
    return request;
  }

  /** Once released, the claims are kept only VERDICT_RETENTION_SECONDS longer. */
  private async poll(request: PresentationRequestEntity, responseCode: unknown): Promise<VerdictView> {
    const now = new Date();
    const { view, released } = verdictView(request, await this.seals.openVerdict(request), responseCode, now);
    if (released) await this.requests.purgeSoon(request.id, new Date(now.getTime() + this.retentionSeconds * 1000));
    return view;
  }
}
