import { Inject, Injectable } from '@nestjs/common';
import {
  authorizationCodeGrantIdentifier,
  Oauth2AuthorizationServer,
  PkceCodeChallengeMethod,
  preAuthorizedCodeGrantIdentifier,
  type RequestLike,
} from '@openid4vc/oauth2';
import { sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { HOLDER_KEY_ALGORITHMS } from '../../credentials/index.js';
import { assertFreshDpop, DPOP_JTI_MARGIN_SECONDS, mapErrors, oauthError } from '../../oauth/index.js';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  authorizationCodeGrantProblem,
  codeAttempt,
  MAX_CODE_FAILURES,
  offerCodeMatches,
  pinAttemptError,
  preAuthorizedGrantProblem,
  tokenAuthorizationDetails,
} from '../../oid4vci/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AuthorizationSessionRepository } from './authorization-session.repository.js';
import { DpopReplayRepository } from './dpop-replay.repository.js';
import { TokenKeys } from './token-keys.js';

type ParsedTokenRequest = ReturnType<Oauth2AuthorizationServer['parseAccessTokenRequest']>;
type GrantOf<T extends string> = Omit<ParsedTokenRequest, 'grant'> & {
  grant: Extract<ParsedTokenRequest['grant'], { grantType: T }>;
};
type TokenDpop = Parameters<Oauth2AuthorizationServer['createAccessTokenResponse']>[0]['dpop'];

/**
 * The token endpoint (RFC 6749 §3.2, OID4VCI 1.0 §6): the pre-authorized code grant with its PIN, and the
 * authorization code grant with PKCE; tokens are ES256 JWTs, DPoP-bound when the wallet sends DPoP.
 */
@Injectable()
export class TokenService {
  private readonly proofMaxAgeSeconds: number;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly offers: OfferRepository,
    private readonly sessions: AuthorizationSessionRepository,
    private readonly dpopReplay: DpopReplayRepository,
    private readonly tokenKeys: TokenKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
  }

  async token(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
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
      if (parsed.grant.grantType === authorizationCodeGrantIdentifier)
        return this.authorizationCodeToken(parsed as GrantOf<typeof authorizationCodeGrantIdentifier>, request);
      if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier)
        throw oauthError(400, 'unsupported_grant_type', 'Use the pre-authorized code or the authorization code grant');
      return this.preAuthorizedCodeToken(parsed as GrantOf<typeof preAuthorizedCodeGrantIdentifier>, request);
    });
  }

  /** Operator rotation of the access-token key; tokens of older keys stay valid for their lifetime. */
  rotateAccessTokenKey(now = new Date()) {
    return this.tokenKeys.rotate(ACCESS_TOKEN_TTL_SECONDS + DPOP_JTI_MARGIN_SECONDS, now);
  }

  private async preAuthorizedCodeToken(parsed: GrantOf<typeof preAuthorizedCodeGrantIdentifier>, request: RequestLike) {
    const { preAuthorizedCode: code, txCode } = parsed.grant;
    const offer = await this.offers.byCodeHash(sha256Hex(code));
    const now = new Date();
    const problem = preAuthorizedGrantProblem(offer, txCode, now);
    if (problem) throw problem;
    if (offer!.txCodeHash) {
      const attempt = codeAttempt(
        await this.offers.reserveCodeAttempt(offer!.id, MAX_CODE_FAILURES),
        offerCodeMatches(offer!, txCode),
      );
      if (attempt.outcome === 'locked_now') await this.offers.lock(offer!.id);
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
    if (!(await this.offers.redeem(offer!.id, now)))
      throw oauthError(400, 'invalid_grant', 'The pre-authorized code was already used');
    return this.accessTokenResponse(offer!.id, dpop, undefined);
  }

  private async authorizationCodeToken(parsed: GrantOf<typeof authorizationCodeGrantIdentifier>, request: RequestLike) {
    const code = parsed.grant.code;
    const session = await this.sessions.byCode(sha256Hex(code));
    const problem = authorizationCodeGrantProblem(
      session,
      {
        redirectUri: parsed.accessTokenRequest['redirect_uri'],
        clientId: parsed.accessTokenRequest['client_id'],
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
    if (!(await this.sessions.exchangeCode(session!.id)) || !(await this.offers.redeem(session!.offerId, new Date())))
      throw oauthError(400, 'invalid_grant', 'The authorization code was already used');
    return this.accessTokenResponse(session!.offerId, dpop, session!.credentialIdentifiers ?? undefined);
  }

  /**
   * The token response. After authorization_details (RFC 9396), it names the granted credentials with
   * credential_identifiers (OID4VCI 1.0 §6.2); the token carries them, and the credential endpoint then
   * expects credential_identifier.
   */
  private async accessTokenResponse(offerId: string, dpop: TokenDpop, credentialIdentifiers: string[] | undefined) {
    const key = await this.tokenKeys.current();
    const authorizationDetails = credentialIdentifiers ? tokenAuthorizationDetails(credentialIdentifiers) : undefined;
    const response = await this.protocol.authorizationServer.createAccessTokenResponse({
      audience: this.protocol.base,
      authorizationServer: this.protocol.base,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: key.jwk },
      subject: offerId,
      expiresInSeconds: ACCESS_TOKEN_TTL_SECONDS,
      dpop,
      ...(authorizationDetails ? { additionalAccessTokenPayload: { authorization_details: authorizationDetails } } : {}),
    });
    return authorizationDetails ? { ...response, authorization_details: authorizationDetails } : response;
  }
}
