import { Inject, Injectable } from '@nestjs/common';
import { SupportedAuthenticationScheme, type RequestLike } from '@openid4vc/oauth2';
import { OAuthError, type OAuthErrorCode } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { HOLDER_KEY_ALGORITHMS } from '../../credentials/index.js';
import { assertFreshDpop, mapErrors, presentedAccessToken, unauthorizedError, type AuthScheme } from '../../oauth/index.js';
import { grantedCredentialIdentifiers } from '../../oid4vci/index.js';
import { DpopReplayRepository } from '../authorization-server/dpop-replay.repository.js';
import { TokenKeys } from '../authorization-server/token-keys.js';
import type { CredentialOfferEntity } from '../offers/offer.entity.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';

export interface AuthorisedOffer {
  offer: CredentialOfferEntity;
  /** The credential identifiers the token grants (after authorization_details), or undefined. */
  credentialIdentifiers: string[] | undefined;
  /** The thumbprint of the DPoP key the token is bound to (cnf.jkt, checked against the proof), or undefined for Bearer. */
  dpopJkt: string | undefined;
  /** How the token was presented. */
  scheme: AuthScheme;
  /** The client the token was issued to (RFC 9068 client_id), or undefined for an anonymous pre-authorized grant. */
  clientId: string | undefined;
}

const challenge = (scheme: AuthScheme | undefined, code: OAuthErrorCode, description: string) =>
  unauthorizedError({
    schemes: ['DPoP', 'Bearer'],
    dpopAlgs: HOLDER_KEY_ALGORITHMS,
    ...(scheme ? { error: { scheme, code, description } } : {}),
  });

/**
 * The resource-server side of the credential, deferred and notification endpoints: the access token
 * (Bearer, or DPoP-bound with a fresh proof) must be ours, by any active key, and belong to a redeemed
 * offer. Every failure is a 401 with a well-formed challenge (RFC 6750 §3, RFC 9449 §7.1).
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly proofMaxAgeSeconds: number;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly tokenKeys: TokenKeys,
    private readonly offers: OfferRepository,
    private readonly dpopReplay: DpopReplayRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
  }

  /** The resource server's clock (a method of its own, so a test can move it past a token's expiry instead of waiting). */
  now(): Date {
    return new Date();
  }

  async authorisedOffer(request: RequestLike): Promise<AuthorisedOffer> {
    const now = this.now();
    const presented = presentedAccessToken(request.headers.get('authorization'), request.headers.get('dpop'));
    if (!presented.ok) throw challenge(presented.scheme, presented.code, presented.description);
    const { scheme, kid } = presented;
    // The library reads the header itself, with the scheme spelled as registered.
    request.headers.set('authorization', `${scheme} ${presented.token}`);
    // Any replica's key: an unknown kid makes this replica read the active keys again.
    if (kid === undefined || !(await this.tokenKeys.byKid(kid)))
      throw challenge(scheme, 'invalid_token', 'The access token is invalid or expired');
    await assertFreshDpop(request.headers.get('dpop'), {
      now,
      maxAgeSeconds: this.proofMaxAgeSeconds,
      replay: this.dpopReplay,
      status: 401,
    });
    const { tokenPayload } = await mapErrors(
      () =>
        this.protocol.resourceServer.verifyResourceRequest({
          authorizationServers: [this.protocol.authorizationServerMetadata()],
          request,
          resourceServer: this.protocol.base,
          allowedAuthenticationSchemes: [SupportedAuthenticationScheme.DPoP, SupportedAuthenticationScheme.Bearer],
          now,
        }),
      'invalid_token',
      ['DPoP', 'Bearer'],
    ).catch((error: unknown) => {
      if (error instanceof OAuthError && error.status === 401) throw error;
      throw challenge(scheme, 'invalid_token', 'The access token is invalid or expired');
    });
    const offer = tokenPayload.sub ? await this.offers.byId(tokenPayload.sub) : null;
    if (!offer || (offer.status !== 'redeemed' && offer.status !== 'issued'))
      throw challenge(scheme, 'invalid_token', 'The access token does not belong to an active offer');
    const jkt = (tokenPayload as { cnf?: { jkt?: unknown } }).cnf?.jkt;
    const clientId = (tokenPayload as { client_id?: unknown }).client_id;
    return {
      offer,
      credentialIdentifiers: grantedCredentialIdentifiers(tokenPayload as Record<string, unknown>),
      dpopJkt: typeof jkt === 'string' ? jkt : undefined,
      scheme,
      clientId: typeof clientId === 'string' ? clientId : undefined,
    };
  }
}
