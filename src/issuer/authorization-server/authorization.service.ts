import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { RequestLike } from '@openid4vc/oauth2';
import { ProblemError, randomToken, sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import type { Tx } from '../../persistence/index.js';
import { Catalogue, HOLDER_KEY_ALGORITHMS } from '../../credentials/index.js';
import { assertFreshDpop, mapErrors, notFormBody, oauthError, safeErrorDescription } from '../../oauth/index.js';
import {
  authorizationDetailsConfigurations,
  authorizationResponseUrl,
  authorizeParametersProblem,
  checkPushedAuthorizationRequest,
  CODE_TTL_SECONDS,
  credentialConfigurations,
  dpopJktProblem,
  PAR_TTL_SECONDS,
  LOGIN_TTL_SECONDS,
  pushedRequestOfferProblem,
  pushedSessionProblem,
} from '../../oid4vci/index.js';
import { scopeConfigurations } from '../approvals/approval-rules.js';
import { AgencyRepository } from '../agencies/agency.repository.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import type { AuthorizationSessionEntity } from './authorization-session.entity.js';
import { AuthorizationSessionRepository } from './authorization-session.repository.js';
import { CITIZEN_AUTHENTICATOR, type CitizenAuthenticator } from './citizen-authenticator.js';
import { ApplicationRefused, WALLET_APPLICATIONS, type WalletApplications } from './wallet-applications.js';
import { DpopReplayRepository } from './dpop-replay.repository.js';

/**
 * The authorization code flow up to the code: pushed authorization requests (RFC 9126, required), the
 * authorization endpoint and the citizen's login, and the redirect back to the wallet.
 */
@Injectable()
export class AuthorizationService {
  private readonly proofMaxAgeSeconds: number;
  private readonly walletRedirectUris: ReadonlySet<string>;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly catalogue: Catalogue,
    private readonly offers: OfferRepository,
    private readonly sessions: AuthorizationSessionRepository,
    private readonly agencies: AgencyRepository,
    private readonly dpopReplay: DpopReplayRepository,
    @Inject(CITIZEN_AUTHENTICATOR) private readonly citizens: CitizenAuthenticator,
    @Inject(WALLET_APPLICATIONS) private readonly walletApplications: WalletApplications,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
    this.walletRedirectUris = new Set(config.oid4vci.walletRedirectUris);
  }

  /** Pushed authorization request: PKCE S256 required, bound to an authorization-code offer by issuer_state. */
  async pushedAuthorizationRequest(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      if (notFormBody(request.headers))
        throw oauthError(400, 'invalid_request', 'The pushed authorization request must be application/x-www-form-urlencoded');
      const server = this.protocol.authorizationServer;
      // RFC 9126 §2.1: request_uri MUST NOT be pushed (the library would answer invalid_request_uri).
      if ((body as Record<string, unknown> | undefined)?.['request_uri'] !== undefined)
        throw oauthError(400, 'invalid_request', 'request_uri must not be sent to the pushed authorization request endpoint');
      const parsed = await server.parsePushedAuthorizationRequest({ authorizationRequest: body ?? {}, request });
      const authorizationRequest = parsed.authorizationRequest as Record<string, string | undefined>;
      const now = new Date();
      await assertFreshDpop(request.headers.get('dpop'), {
        now,
        maxAgeSeconds: this.proofMaxAgeSeconds,
        replay: this.dpopReplay,
        status: 400,
      });
      const dpopJkt = authorizationRequest['dpop_jkt'];
      const jktProblem = dpopJktProblem(dpopJkt);
      if (jktProblem) throw jktProblem;
      const verified = await server.verifyPushedAuthorizationRequest({
        authorizationServerMetadata: this.protocol.authorizationServerMetadata(),
        authorizationRequest,
        request,
        dpop: parsed.dpop ? { required: false, ...parsed.dpop, allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS] } : undefined,
      });
      const checked = checkPushedAuthorizationRequest(authorizationRequest, this.walletRedirectUris);
      const requested = authorizationDetailsConfigurations(
        (body as Record<string, unknown> | undefined)?.['authorization_details'],
        credentialConfigurations(this.catalogue),
      );
      const offer = checked.issuerState ? await this.offers.byCodeHash(sha256Hex(checked.issuerState)) : null;
      const requestExpiresAt = new Date(now.getTime() + PAR_TTL_SECONDS * 1000);
      // No issuer_state: a wallet-started application for a type under a joint-approval policy (issue 16).
      const walletApplication = checked.issuerState
        ? undefined
        : await this.walletApplications.start(
            requested ?? scopeConfigurations(authorizationRequest['scope'], credentialConfigurations(this.catalogue)),
            requestExpiresAt,
          );
      const offerProblem = walletApplication ? undefined : pushedRequestOfferProblem(offer, requested, now);
      if (offerProblem) throw offerProblem;
      const requestUri = `urn:ietf:params:oauth:request_uri:${randomToken(24)}`;
      await this.sessions.insert({
        id: randomUUID(),
        offerId: walletApplication ?? offer!.id,
        clientId: checked.clientId,
        redirectUri: checked.redirectUri,
        state: checked.state,
        codeChallenge: checked.codeChallenge,
        requestUriHash: sha256Hex(requestUri),
        requestExpiresAt,
        codeHash: null,
        codeExpiresAt: null,
        status: 'pushed',
        // RFC 9449 §10: the code is bound to the PAR's DPoP key (proof or dpop_jkt); the token request must use it.
        dpopJkt: verified.dpop?.jwkThumbprint ?? dpopJkt ?? null,
        credentialIdentifiers: requested ? [...new Set(requested)] : null,
        createdAt: now,
      });
      return server.createPushedAuthorizationResponse({ requestUri, expiresInSeconds: PAR_TTL_SECONDS })
        .pushedAuthorizationResponse;
    });
  }

  /**
   * The login page, opened: what it shows. The first opening of an agency's offer gives the citizen
   * LOGIN_TTL_SECONDS to sign in; later openings extend nothing, so a request_uri cannot be kept alive by reloading.
   * A wallet-started application keeps the PAR's lifetime: its draft offer and request expire with it.
   */
  async openLoginPage(clientId: unknown, requestUri: unknown) {
    const opened = await this.authorizationSession(clientId, requestUri);
    const { session } = opened;
    const pushedUntil = session.createdAt.getTime() + PAR_TTL_SECONDS * 1000;
    if (opened.offer && session.requestExpiresAt.getTime() <= pushedUntil) {
      await this.sessions.extendRequest(session.id, session.requestExpiresAt, new Date(Date.now() + LOGIN_TTL_SECONDS * 1000));
    }
    return opened;
  }

  /** The authorization endpoint only accepts pushed requests; returns what the login page needs. */
  async authorizationSession(clientId: unknown, requestUri: unknown) {
    const parametersProblem = authorizeParametersProblem(clientId, requestUri);
    if (parametersProblem) throw parametersProblem;
    const session = await this.sessions.byRequestUri(sha256Hex(requestUri as string));
    const sessionProblem = pushedSessionProblem(session, clientId as string, new Date());
    if (sessionProblem) throw sessionProblem;
    // A wallet-started application (its offer is a draft until the citizen has signed in).
    const application = await this.walletApplications.describe(session!.offerId);
    if (application) return { session: session!, offer: null, application, ...application };
    const offer = await this.offers.byId(session!.offerId);
    if (!offer) throw oauthError(400, 'invalid_request', 'The request_uri is unknown, used or expired');
    const agency = await this.agencies.byId(offer.agencyId);
    const type = this.catalogue.get(offer.typeId);
    if (!type) throw oauthError(400, 'invalid_request', 'The credential type of this offer is no longer issued');
    return {
      session: session!,
      offer,
      application: undefined,
      agencyName: agency?.name ?? '',
      typeName: `${type.display['zh-CN'].name} / ${type.display.en.name}`,
    };
  }

  /**
   * The citizen's login. The demo authenticator checks the one-time login code the agency gave the citizen
   * (5 wrong codes lock the offer); a real deployment plugs in its identity provider here.
   */
  async login(
    clientId: unknown,
    requestUri: unknown,
    form: Record<string, unknown>,
  ): Promise<{ redirect: string } | { retry: string }> {
    const { session, offer, application } = await this.authorizationSession(clientId, requestUri);
    const denied = (message: string) => ({
      redirect: this.redirectTo(session, { error: 'access_denied', error_description: safeErrorDescription(message) }),
    });
    const code = randomToken(32);
    const authorize = async (tx?: Tx) => {
      if (!(await this.sessions.authorize(session.id, sha256Hex(code), new Date(Date.now() + CODE_TTL_SECONDS * 1000), tx)))
        throw oauthError(400, 'invalid_request', 'This authorization request was already completed');
    };
    if (offer) {
      const authentication = await this.citizens.authenticate(offer, form);
      if (!authentication.ok) return authentication.final ? denied(authentication.message) : { retry: authentication.message };
      await authorize();
    } else {
      const citizen = await this.citizens.identify(application.typeId, form);
      if (!citizen.ok) return citizen.final ? denied(citizen.message) : { retry: citizen.message };
      // The application is filed (offer, application, chain write) in one transaction with the code; refused: access_denied.
      try {
        await this.walletApplications.complete(session.offerId, citizen, authorize);
      } catch (error) {
        if (error instanceof ApplicationRefused) return denied(error.message);
        if (error instanceof ProblemError && error.code === 'conflict')
          throw oauthError(400, 'invalid_request', 'This authorization request was already completed');
        throw error;
      }
    }
    return { redirect: this.redirectTo(session, { code }) };
  }

  private redirectTo(session: AuthorizationSessionEntity, params: Record<string, string>): string {
    return authorizationResponseUrl(session, params, this.protocol.base);
  }
}
