import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  authorizationCodeGrantIdentifier,
  Oauth2AuthorizationServer,
  PkceCodeChallengeMethod,
  preAuthorizedCodeGrantIdentifier,
  refreshTokenGrantIdentifier,
  type RequestLike,
} from '@openid4vc/oauth2';
import { merged, randomToken, sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { Catalogue, HOLDER_KEY_ALGORITHMS } from '../../credentials/index.js';
import { assertFreshDpop, DPOP_JTI_MARGIN_SECONDS, mapErrors, notFormBody, oauthError } from '../../oauth/index.js';
import {
  authorizationCodeGrantProblem,
  authorizationDetailsConfigurations,
  codeAttempt,
  credentialConfigurations,
  issuesRefreshToken,
  MAX_CODE_FAILURES,
  offerCodeMatches,
  pinAttemptError,
  preAuthorizedGrantProblem,
  refreshBindingProblem,
  refreshClientProblem,
  tokenRequestClientId,
  refreshFamilyExpiry,
  refreshGrantProblem,
  refreshScopeProblem,
  REFRESH_RETRY_GRACE_SECONDS,
  tokenAuthorizationDetails,
} from '../../oid4vci/index.js';
import type { CredentialOfferEntity } from '../offers/offer.entity.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AuthorizationSessionRepository } from './authorization-session.repository.js';
import { DpopReplayRepository } from './dpop-replay.repository.js';
import { RefreshTokenRepository } from './refresh-token.repository.js';
import { TokenKeys } from './token-keys.js';
import type { Oid4vciRefreshTokenEntity } from './refresh-token.entity.js';
import { Database, type Tx } from '../../persistence/index.js';

type ParsedTokenRequest = ReturnType<Oauth2AuthorizationServer['parseAccessTokenRequest']>;
type GrantOf<T extends string> = Omit<ParsedTokenRequest, 'grant'> & {
  grant: Extract<ParsedTokenRequest['grant'], { grantType: T }>;
};
type TokenDpop = Parameters<Oauth2AuthorizationServer['createAccessTokenResponse']>[0]['dpop'];

/**
 * The longest a Bearer (not sender-constrained) access token lives: OID4VCI 1.0 §13 ("Protecting the Access Token")
 * forbids long-lived ones unless sender-constrained, and counts anything over five minutes as long-lived.
 */
export const MAX_BEARER_ACCESS_TOKEN_SECONDS = 300;

/**
 * The token endpoint (RFC 6749 §3.2, OID4VCI 1.0 §6): the pre-authorized code grant with its PIN, the
 * authorization code grant with PKCE, and the refresh_token grant for offers whose issuance can be deferred
 * (ADR 18); tokens are ES256 JWTs, DPoP-bound when the wallet sends DPoP.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger('TokenService');
  private readonly proofMaxAgeSeconds: number;
  private readonly accessTokenTtlSeconds: number;
  private readonly refreshTokenMaxSeconds: number;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly catalogue: Catalogue,
    private readonly offers: OfferRepository,
    private readonly sessions: AuthorizationSessionRepository,
    private readonly dpopReplay: DpopReplayRepository,
    private readonly tokenKeys: TokenKeys,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
    this.accessTokenTtlSeconds = config.oid4vci.accessTokenTtlSeconds;
    this.refreshTokenMaxSeconds = config.oid4vci.refreshTokenMaxSeconds;
  }

  async token(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      if (notFormBody(request.headers))
        throw oauthError(400, 'invalid_request', 'The token request must be application/x-www-form-urlencoded');
      // The DPoP proof is checked before anything else, so a bad proof never costs a PIN attempt.
      await assertFreshDpop(request.headers.get('dpop'), {
        now: new Date(),
        maxAgeSeconds: this.proofMaxAgeSeconds,
        replay: this.dpopReplay,
        status: 400,
      });
      const parsed = this.protocol.authorizationServer.parseAccessTokenRequest({
        accessTokenRequest: (body ?? {}) as Record<string, unknown>,
        request,
      });
      // The library's parse drops RFC 9396 authorization_details (OID4VCI 1.0 §6.1): read from the form itself.
      const details = (body as Record<string, unknown> | undefined)?.['authorization_details'];
      if (parsed.grant.grantType === authorizationCodeGrantIdentifier)
        return this.authorizationCodeToken(parsed as GrantOf<typeof authorizationCodeGrantIdentifier>, request, details);
      if (parsed.grant.grantType === refreshTokenGrantIdentifier)
        return this.refreshTokenGrant(parsed as GrantOf<typeof refreshTokenGrantIdentifier>, request);
      if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier)
        throw oauthError(400, 'unsupported_grant_type', 'Use the pre-authorized code, authorization code or refresh token grant');
      return this.preAuthorizedCodeToken(parsed as GrantOf<typeof preAuthorizedCodeGrantIdentifier>, request, details);
    });
  }

  /**
   * The configurations a token request's authorization_details name (OID4VCI 1.0 §6.1; each becomes its own
   * credential identifier in the response, §6.2), all within what the grant covers; undefined when it has none.
   */
  private requestedDetails(details: unknown, covered: readonly string[]): string[] | undefined {
    const requested = authorizationDetailsConfigurations(details, credentialConfigurations(this.catalogue));
    if (requested?.some((id) => !covered.includes(id)))
      throw oauthError(
        400,
        'invalid_authorization_details',
        'authorization_details names a credential this grant does not cover',
      );
    return requested && [...new Set(requested)];
  }

  /** Operator rotation of the access-token key; tokens of older keys stay valid for their lifetime. */
  rotateAccessTokenKey(now = new Date()) {
    return this.tokenKeys.rotate(this.accessTokenTtlSeconds + DPOP_JTI_MARGIN_SECONDS, now);
  }

  private async preAuthorizedCodeToken(
    parsed: GrantOf<typeof preAuthorizedCodeGrantIdentifier>,
    request: RequestLike,
    details: unknown,
  ) {
    const { preAuthorizedCode: code, txCode } = parsed.grant;
    const clientId = tokenRequestClientId(parsed.accessTokenRequest['client_id']);
    const offer = await this.offers.byCodeHash(sha256Hex(code));
    const now = new Date();
    const problem = preAuthorizedGrantProblem(offer, txCode, now);
    if (problem) throw problem;
    // Checked before the PIN: a malformed request costs no attempt.
    const credentialIdentifiers = this.requestedDetails(details, offer!.configurationIds);
    if (offer!.txCodeHash) {
      // Every attempt takes one of the offer's MAX_CODE_FAILURES before its PIN is compared (a right one gives it
      // back, in the same transaction), so parallel guesses cannot exceed the budget.
      const attempt = await this.offers.attemptCode(offer!.id, MAX_CODE_FAILURES, (attemptsUsed) =>
        codeAttempt(attemptsUsed, offerCodeMatches(offer!, txCode)),
      );
      if (attempt.outcome === 'locked') {
        // None left to take: locked by wrong PINs, or redeemed meanwhile.
        const status = (await this.offers.byId(offer!.id))?.status;
        if (status === 'redeemed' || status === 'issued')
          throw oauthError(400, 'invalid_grant', 'The pre-authorized code was already used');
      }
      if (attempt.outcome !== 'accepted') throw pinAttemptError(attempt);
    }
    const { dpop } = await this.protocol.authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      authorizationServerMetadata: this.protocol.authorizationServerMetadata(),
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedPreAuthorizedCode: code,
      expectedTxCode: txCode,
      preAuthorizedCodeExpiresAt: offer!.expiresAt,
      dpop: { required: false, ...parsed.dpop, allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS] },
    });
    // The single-use step: of any number of concurrent redemptions, one UPDATE matches.
    return this.firstTokens(offer!, dpop, credentialIdentifiers, clientId, now, {
      redeem: (tx) => this.offers.redeem(offer!.id, now, tx),
      used: 'The pre-authorized code was already used',
    });
  }

  private async authorizationCodeToken(
    parsed: GrantOf<typeof authorizationCodeGrantIdentifier>,
    request: RequestLike,
    details: unknown,
  ) {
    const code = parsed.grant.code;
    const session = await this.sessions.byCode(sha256Hex(code));
    const problem = authorizationCodeGrantProblem(
      session,
      {
        redirectUri: parsed.accessTokenRequest['redirect_uri'],
        clientId: tokenRequestClientId(parsed.accessTokenRequest['client_id']),
        codeVerifier: parsed.pkceCodeVerifier,
        hasDpopProof: Boolean(parsed.dpop?.jwt),
      },
      new Date(),
    );
    if (problem) throw problem;
    // The library checks PKCE and expiry again, and the DPoP proof against the key the code is bound to.
    const { dpop } = await this.protocol.authorizationServer.verifyAuthorizationCodeAccessTokenRequest({
      authorizationServerMetadata: this.protocol.authorizationServerMetadata(),
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedCode: code,
      codeExpiresAt: session!.codeExpiresAt ?? new Date(0),
      pkce: {
        codeVerifier: parsed.pkceCodeVerifier,
        codeChallenge: session!.codeChallenge,
        codeChallengeMethod: PkceCodeChallengeMethod.S256,
      },
      dpop: {
        required: session!.dpopJkt !== null,
        ...parsed.dpop,
        allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS],
        ...(session!.dpopJkt ? { expectedJwkThumbprint: session!.dpopJkt } : {}),
      },
    });
    const offer = await this.offers.byId(session!.offerId);
    if (!offer) throw oauthError(400, 'invalid_grant', 'The grant of this authorization code has ended');
    const now = new Date();
    // The token request may narrow what the authorization granted (RFC 9396 §6.1), never widen it.
    const authorised = session!.credentialIdentifiers ?? offer.configurationIds;
    const credentialIdentifiers = this.requestedDetails(details, authorised) ?? session!.credentialIdentifiers ?? undefined;
    return this.firstTokens(offer, dpop, credentialIdentifiers, session!.clientId, now, {
      redeem: async (tx) => (await this.sessions.exchangeCode(session!.id, tx)) && this.offers.redeem(offer.id, now, tx),
      used: 'The authorization code was already used',
    });
  }

  /**
   * The refresh_token grant (RFC 6749 §6): the presented token must be active, unexpired and its offer
   * still going; its DPoP key must sign the proof (RFC 9449 §5); no scope beyond the original. It is then
   * rotated in one conditional UPDATE (one of any concurrent refreshes wins); a token already rotated,
   * presented again or losing that race, revokes its whole family (RFC 9700 §4.14.2). The new access token
   * grants exactly what the first one did.
   */
  private async refreshTokenGrant(parsed: GrantOf<typeof refreshTokenGrantIdentifier>, request: RequestLike) {
    const now = new Date();
    const presentedHash = sha256Hex(parsed.grant.refreshToken);
    const stored = await this.refreshTokens.byHash(presentedHash);
    const offer = stored ? await this.offers.byId(stored.offerId) : null;
    // A rotated token again: a retry after a lost response (its successor unused, within the grace) or reuse.
    const retried = stored?.status === 'rotated';
    const refused = refreshGrantProblem(retried ? { ...stored!, status: 'active' } : stored, offer, now);
    if (refused) {
      if (refused.revokeFamily) await this.revokeFamily(stored!.familyId, stored!.offerId);
      throw refused.problem;
    }
    const clientProblem = refreshClientProblem(stored!.clientId, tokenRequestClientId(parsed.accessTokenRequest['client_id']));
    if (clientProblem) throw clientProblem;
    const grantedScopes = this.scopesOf(stored!.credentialIdentifiers ?? offer!.configurationIds);
    const requestedScope = parsed.accessTokenRequest['scope'];
    const scopeProblem = refreshScopeProblem(requestedScope, grantedScopes);
    if (scopeProblem) throw scopeProblem;
    const { dpop } = await this.protocol.authorizationServer.verifyRefreshTokenAccessTokenRequest({
      authorizationServerMetadata: this.protocol.authorizationServerMetadata(),
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedRefreshToken: parsed.grant.refreshToken,
      refreshTokenExpiresAt: stored!.expiresAt,
      now,
      dpop: { required: stored!.dpopJkt !== null, ...parsed.dpop, allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS] },
    });
    const binding = refreshBindingProblem(stored!.dpopJkt, dpop?.jwkThumbprint);
    if (binding) throw binding;
    const refreshToken = randomToken(32);
    const successor = {
      ...stored!,
      tokenHash: sha256Hex(refreshToken),
      previousHash: presentedHash,
      status: 'active' as const,
      createdAt: now,
    };
    const rotated = retried
      ? await this.refreshTokens.replaceUnusedSuccessor(
          presentedHash,
          successor,
          new Date(now.getTime() - REFRESH_RETRY_GRACE_SECONDS * 1000),
          now,
        )
      : await this.refreshTokens.rotate(presentedHash, successor, now);
    if (!rotated) {
      // Rotated by a request running alongside: this one read the token as active and lost the race (the winner
      // may have stored its successor by now), or found it rotated with no successor stored yet. For a DPoP-bound
      // family both requests hold its key, so this is the wallet's own duplicate, refused without ending the
      // grant. A Bearer token cannot tell a duplicate from a thief racing the wallet: the family ends (its
      // successor too, stored or not; ADR 18).
      const concurrent = !retried || !(await this.refreshTokens.hasSuccessor(presentedHash));
      if (stored!.dpopJkt !== null && concurrent)
        throw oauthError(400, 'invalid_grant', 'The refresh token is being used by another request');
      await this.revokeFamily(stored!.familyId, stored!.offerId);
      throw oauthError(400, 'invalid_grant', 'The refresh token was already used; every token of its grant is revoked');
    }
    const response = await this.accessTokenResponse(
      stored!.offerId,
      dpop,
      stored!.credentialIdentifiers ?? undefined,
      stored!.clientId ?? undefined,
    );
    // RFC 6749 §5.1: the granted scope is named when it differs from the requested one (no narrowing here).
    return merged(response, {
      refresh_token: refreshToken,
      ...(requestedScope !== undefined ? { scope: grantedScopes.join(' ') } : {}),
    });
  }

  private async revokeFamily(familyId: string, offerId: string): Promise<void> {
    await this.refreshTokens.revokeFamily(familyId);
    this.logger.warn({ offerId }, 'refresh token reused: its family is revoked');
  }

  /** The scope values of the configurations a grant covers (each configuration's `scope`, OID4VCI 1.0 §12.2.4). */
  private scopesOf(configurationIds: readonly string[]): string[] {
    const known = credentialConfigurations(this.catalogue);
    const scopes = configurationIds
      .map((id) => known[id]?.['scope'])
      .filter((scope): scope is string => typeof scope === 'string');
    return [...new Set(scopes)];
  }

  /**
   * The tokens of a code redeemed now: the access token, and for an offer whose issuance can be deferred a
   * refresh token opening a new family (bound to the token's DPoP key, ending with the offer at the latest).
   * The tokens are made first; the code's single use (`grant.redeem`, false when it was used) then commits
   * with the refresh token's family, so nothing that can fail follows the redemption.
   */
  private async firstTokens(
    offer: CredentialOfferEntity,
    dpop: TokenDpop,
    credentialIdentifiers: string[] | undefined,
    clientId: string | undefined,
    now: Date,
    grant: { redeem: (tx: Tx) => Promise<boolean>; used: string },
  ) {
    const response = await this.accessTokenResponse(offer.id, dpop, credentialIdentifiers, clientId);
    const refreshToken = issuesRefreshToken(offer) ? randomToken(32) : undefined;
    await this.db.transaction(async (tx) => {
      if (!(await grant.redeem(tx))) throw oauthError(400, 'invalid_grant', grant.used);
      if (refreshToken)
        await this.refreshTokens.insert(
          this.firstRefreshToken(refreshToken, offer, dpop, credentialIdentifiers, clientId, now),
          tx,
        );
    });
    return refreshToken ? merged(response, { refresh_token: refreshToken }) : response;
  }

  private firstRefreshToken(
    refreshToken: string,
    offer: CredentialOfferEntity,
    dpop: TokenDpop,
    credentialIdentifiers: string[] | undefined,
    clientId: string | undefined,
    now: Date,
  ): Oid4vciRefreshTokenEntity {
    return {
      tokenHash: sha256Hex(refreshToken),
      familyId: randomUUID(),
      offerId: offer.id,
      dpopJkt: (dpop as { jwkThumbprint?: string } | undefined)?.jwkThumbprint ?? null,
      credentialIdentifiers: credentialIdentifiers ?? null,
      clientId: clientId ?? null,
      previousHash: null,
      status: 'active',
      expiresAt: refreshFamilyExpiry(now, this.refreshTokenMaxSeconds, offer.expiresAt),
      createdAt: now,
    };
  }

  /**
   * The token response. After authorization_details (RFC 9396), it names the granted credentials with
   * credential_identifiers (OID4VCI 1.0 §6.2); the token carries them, and the credential endpoint then
   * expects credential_identifier.
   */
  private async accessTokenResponse(
    offerId: string,
    dpop: TokenDpop,
    credentialIdentifiers: string[] | undefined,
    clientId: string | undefined,
  ) {
    const key = await this.tokenKeys.current();
    const authorizationDetails = credentialIdentifiers ? tokenAuthorizationDetails(credentialIdentifiers) : undefined;
    const response = await this.protocol.authorizationServer.createAccessTokenResponse({
      audience: this.protocol.base,
      authorizationServer: this.protocol.base,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: key.jwk },
      subject: offerId,
      // RFC 9068 §2.2: the client the token was issued to; a key proof's iss must then name it (OID4VCI 1.0 F.1).
      ...(clientId !== undefined ? { clientId } : {}),
      expiresInSeconds: dpop ? this.accessTokenTtlSeconds : Math.min(this.accessTokenTtlSeconds, MAX_BEARER_ACCESS_TOKEN_SECONDS),
      dpop,
      ...(authorizationDetails ? { additionalAccessTokenPayload: { authorization_details: authorizationDetails } } : {}),
    });
    return authorizationDetails ? merged(response, { authorization_details: authorizationDetails }) : response;
  }
}
