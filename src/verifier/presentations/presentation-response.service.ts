import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Jwk } from '@openid4vc/oauth2';
import type { Openid4vpVerifier } from '@openid4vc/openid4vp';
import { hasPrototypeMember, OAuthError, randomToken } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { Catalogue, couldNotBeChecked } from '../../credentials/index.js';
import { DataSharingPermissions } from '../../chain/index.js';
import { Database } from '../../persistence/index.js';
import {
  alreadyAnswered,
  analyseDcqlQuery,
  bareDcqlPresentations,
  checkResponseState,
  dataSharingViolations,
  isErrorResponse,
  holderProofWindowSeconds,
  judgePresentations,
  requestAnswered,
  sameDeviceReturn,
  verdictToStore,
  vpTokenEntries,
  vpTokenRejection,
  presentationForAnotherRequest,
  walletErrorVerdict,
  type AuthorizationRequestPayload,
  type Verdict,
} from '../../oid4vp/index.js';
import { VerifierService } from '../verifier.service.js';
import { openid4vpVerifier } from './openid4vp-library.js';
import type { PresentationRequestEntity } from './presentation-request.entity.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';
import { DATA_SHARING_REFUSAL, PresentationAudit } from './presentation-audit.js';
import { PresentationSeals } from './presentation-seals.js';
import { permissionChecks } from './presentation-request.service.js';
import { VerdictDeliveryService } from './verdict-delivery.service.js';

type RequestUnderAnswer = PresentationRequestEntity & { expectsEncryption: boolean };

const underAnswer = (request: PresentationRequestEntity | null): RequestUnderAnswer | null =>
  request && Object.assign(request, { expectsEncryption: request.encryptionKeySealed !== null });

/**
 * The response endpoint: a wallet's direct_post / direct_post.jwt answer is bound to its request, decrypted
 * by src/keys, verified through the shared verifier, judged against the DCQL query, and accepted once.
 */
@Injectable()
export class PresentationResponseService {
  private readonly logger = new Logger('PresentationResponseService');
  private readonly library: Openid4vpVerifier = openid4vpVerifier({});
  private readonly limits: AppConfig['oid4vp'];
  private readonly proofLimits: { clockSkewSeconds: number; configured: number };
  private readonly dataSharingEnforced: boolean;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly requests: PresentationRequestRepository,
    private readonly seals: PresentationSeals,
    private readonly verifier: VerifierService,
    private readonly delivery: VerdictDeliveryService,
    private readonly permissions: DataSharingPermissions,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly audit: PresentationAudit,
    private readonly db: Database,
  ) {
    this.limits = config.oid4vp;
    this.proofLimits = { clockSkewSeconds: config.verifier.clockSkewSeconds, configured: config.holderProofMaxAgeSeconds };
    this.dataSharingEnforced = config.chain.consortium.dataSharingEnforced;
  }

  /** The wallet's direct_post / direct_post.jwt response: verified, bound to its request, accepted once. */
  async handle(body: unknown): Promise<{ redirect_uri?: string }> {
    const form = (body ?? {}) as Record<string, unknown>;
    const lookup = {
      byId: async (id: string) => underAnswer(await this.requests.byId(id)),
      byStateHash: async (stateHash: string) => underAnswer(await this.requests.byStateHash(stateHash)),
    };
    const request = await requestAnswered(form, lookup, new Date());
    const { authorizationRequest, returnUri } = await this.seals.openRequest(request);
    const presented: string[] = [];
    // The response JWE is decrypted once, whether it holds an error or a vp_token.
    let decrypted: ReturnType<PresentationResponseService['decrypt']> | undefined;
    const decryptOnce = (jwe: string) => (decrypted ??= this.decrypt(request, jwe));
    const walletError = isErrorResponse(form) ? form : await encryptedWalletError(form, decryptOnce);
    const verdict = walletError
      ? walletErrorVerdict(walletError, request.stateHash)
      : await this.verifyResponse(request, form, authorizationRequest, presented, decryptOnce);

    // Same-device: a fresh response_code travels with the browser redirect; the party must show it to read
    // the verdict, so a verdict cannot be fixed onto another person's session (OID4VP 1.0 §13.3).
    const responseCode = returnUri ? randomToken(24) : undefined;
    // The verdict's claims are personal data: sealed at rest, purged VERDICT_MAX_UNREAD_SECONDS from now at
    // the latest (sooner once read).
    const sealed = await this.seals.sealVerdict(request.id, verdictToStore(verdict, responseCode));
    const completedAt = new Date();
    const purgeAt = new Date(completedAt.getTime() + this.limits.verdictMaxUnreadSeconds * 1000);
    const status = verdict.verified ? 'verified' : 'rejected';
    // A wallet's refusal presents nothing: no use of any credential to record, and anyone may send one to a
    // citizens' page (every answered request would otherwise leave an entry for ever).
    const record = walletError ? undefined : await this.audit.recordOf(request, verdict, presented);
    // The request's single use, its verdict and the verdict's audit entry and usage rows commit together: a
    // reader polling the request never sees the verdict before its record (the holder's records page read a
    // verified answer with no usage rows as "not recorded"), and a failed record leaves the request unanswered.
    await this.db.transaction(async (tx) => {
      if (!(await this.requests.complete(request.id, status, sealed, completedAt, purgeAt, tx))) throw alreadyAnswered();
      if (record) await this.audit.write(record, tx);
    });
    this.logger.log({ presentationRequestId: request.id, verified: verdict.verified }, 'presentation answered');
    void this.delivery.notify(request, verdict, responseCode !== undefined);
    return returnUri && responseCode ? { redirect_uri: sameDeviceReturn(returnUri, request.id, responseCode) } : {};
  }

  private async verifyResponse(
    request: PresentationRequestEntity,
    form: Record<string, unknown>,
    authorizationRequest: AuthorizationRequestPayload,
    presented: string[],
    decryptJwe: (jwe: string) => ReturnType<PresentationResponseService['decrypt']>,
  ): Promise<Verdict> {
    let parsed;
    // A member named __proto__ (a query id no request has) would be dropped by the library's parse, not refused.
    let prototypeMember = vpTokenHasPrototypeMember(form['vp_token']);
    const decryptAndLook: typeof decryptJwe = async (jwe) => {
      const decrypted = await decryptJwe(jwe);
      if (decrypted.decrypted && payloadHasPrototypeMember(decrypted.payload)) prototypeMember = true;
      return decrypted;
    };
    try {
      parsed = await this.library.parseOpenid4vpAuthorizationResponse({
        authorizationResponse: form,
        authorizationRequestPayload: authorizationRequest as never,
        callbacks: { decryptJwe: decryptAndLook, verifyJwt: async () => ({ verified: false }) },
      });
    } catch {
      // Library messages are not passed on verbatim.
      throw new OAuthError(400, 'invalid_request', 'The authorization response is malformed or cannot be decrypted');
    }
    if (prototypeMember) throw new OAuthError(400, 'invalid_request', 'The authorization response has a member named __proto__');
    // Every request of ours carries a state, so every response must return it (RFC 6749 §4.1.2, OID4VP 1.0 §8).
    checkResponseState(parsed.authorizationResponsePayload.state, request.stateHash);
    if (parsed.type !== 'dcql') throw new OAuthError(400, 'invalid_request', 'Only DCQL responses are accepted');
    const bare = bareDcqlPresentations(parsed.authorizationResponsePayload.vp_token);
    if (bare.length > 0)
      throw new OAuthError(
        400,
        'invalid_request',
        `vp_token: the presentations of each credential query must be an array (${bare.slice(0, 3).join(', ').slice(0, 200)})`,
      );
    return this.judge(request, authorizationRequest, parsed.dcql.presentations as Record<string, unknown>, presented);
  }

  /** Decryption of the response JWE by the request's own key, inside src/keys. */
  private async decrypt(request: PresentationRequestEntity, jwe: string) {
    if (!request.encryptionKeySealed) return { decrypted: false as const };
    try {
      const { plaintext, publicJwk } = await this.seals.decryptResponse(request, jwe);
      return { decrypted: true as const, decryptionJwk: publicJwk as Jwk, payload: new TextDecoder().decode(plaintext) };
    } catch {
      return { decrypted: false as const };
    }
  }

  /**
   * Verifies a DCQL vp_token without trusting the wallet: its structure first (before any chain lookup),
   * then every presentation in order, then the verified contents against the query.
   */
  private async judge(
    request: PresentationRequestEntity,
    authorizationRequest: AuthorizationRequestPayload,
    vpToken: Record<string, unknown>,
    presented: string[],
  ): Promise<Verdict> {
    const { query, requested } = analyseDcqlQuery(authorizationRequest.dcql_query, this.catalogue);
    const refused = vpTokenRejection(query, vpToken, {
      maxEntries: this.limits.maxVpTokenEntries,
      maxIssuers: this.limits.maxIssuersPerResponse,
    });
    if (refused) return refused;
    const replayed = presentationForAnotherRequest(vpToken, { nonce: authorizationRequest.nonce, audience: request.clientId });
    if (replayed) return { verified: false, reason: replayed, credentials: [] };
    // Checked again from the chain itself: a permission withdrawn since the request stops it now (ADR 15).
    const checks = await permissionChecks(this.permissions, request.clientId, requested, true);
    const withdrawn = dataSharingViolations(checks, requested, this.dataSharingEnforced);
    if (withdrawn.length) {
      return {
        verified: false,
        reason: `${DATA_SHARING_REFUSAL} ${withdrawn.map((v) => v.message).join('; ')}`,
        credentials: [],
      };
    }
    const verified = [];
    for (const { queryId, presentation } of vpTokenEntries(vpToken)) {
      presented.push(presentation);
      const expect = {
        nonce: authorizationRequest.nonce,
        audience: request.clientId,
        maxAgeSeconds: holderProofWindowSeconds(request.createdAt, new Date(), this.proofLimits),
        // The request's nonce: made here, answered once.
        nonceSingleUse: true,
      };
      verified.push({ queryId, result: await this.verifier.verifyPresentation(presentation, expect, 'threadpool-when-busy') });
    }
    // A check that could not be made (chain or DID host unreachable, the chain being rebuilt) is no verdict:
    // nothing is stored and the request stays open for the wallet to send its response again (as the VC-API
    // answers 503, ADR 12), instead of a rejection recorded for good.
    if (verified.some(({ result }) => couldNotBeChecked(result))) {
      throw new OAuthError(
        503,
        'temporarily_unavailable',
        'A credential could not be checked now (the chain or a DID host cannot be reached); send the response again',
        {},
        { 'retry-after': '5' },
      );
    }
    return judgePresentations(query, requested, verified, (typeId) => this.catalogue.get(typeId)?.vcType);
  }
}

/**
 * The payload of a direct_post.jwt response when it is a wallet's error response (OID4VP 1.0 §8.3: an error uses
 * the response mode asked for, so it arrives encrypted like a vp_token would), else undefined.
 */
async function encryptedWalletError(
  form: Record<string, unknown>,
  decryptJwe: (jwe: string) => Promise<{ decrypted: boolean; payload?: string }>,
): Promise<Record<string, unknown> | undefined> {
  if (typeof form['response'] !== 'string') return undefined;
  const opened = await decryptJwe(form['response']);
  if (!opened.decrypted || opened.payload === undefined) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(opened.payload);
  } catch {
    return undefined;
  }
  return typeof payload === 'object' && payload !== null && isErrorResponse(payload as Record<string, unknown>)
    ? (payload as Record<string, unknown>)
    : undefined;
}

/** A vp_token given as JSON text (as direct_post sends it, and the library also takes inside a JWE) names __proto__. */
function vpTokenHasPrototypeMember(vpToken: unknown): boolean {
  return typeof vpToken === 'string' && hasPrototypeMember(vpToken);
}

/** A decrypted response names __proto__, in itself or in a vp_token it carries as JSON text. */
function payloadHasPrototypeMember(payload: string): boolean {
  if (hasPrototypeMember(payload)) return true;
  try {
    return vpTokenHasPrototypeMember((JSON.parse(payload) as { vp_token?: unknown } | null)?.vp_token);
  } catch {
    return false;
  }
}
