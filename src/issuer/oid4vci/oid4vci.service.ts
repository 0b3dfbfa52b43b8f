import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import QRCode from 'qrcode';
import { z } from 'zod';
import {
  Oauth2AuthorizationServer,
  Oauth2ErrorCodes,
  Oauth2ResourceServer,
  Oauth2ResourceUnauthorizedError,
  Oauth2ServerErrorResponseError,
  authorizationCodeGrantIdentifier,
  PkceCodeChallengeMethod,
  preAuthorizedCodeGrantIdentifier,
  SupportedAuthenticationScheme,
  type Jwk,
  type RequestLike,
} from '@openid4vc/oauth2';
import { Openid4vciIssuer, Openid4vciVersion, type IssuerMetadataResult } from '@openid4vc/openid4vci';
import { badRequest, notFound, OAuthError, parseOrThrow, randomToken, secretsEqual, sha256Hex } from '../../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { KeyService } from '../../keys/index.js';
import { Catalogue, jwkThumbprint, p256HexToJwk, readJosePart, signJws, CREDENTIAL_FORMATS } from '../../credentials/index.js';
import {
  allowHttpOutsideProduction,
  configurationId,
  credentialConfigurations,
  oid4vcCallbacks,
  parseConfigurationId,
} from '../../oid4vci/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { AgencyRepository } from '../agencies/agency.repository.js';
import { IssuanceService } from '../credentials/issuance.service.js';
import { OfferRepository } from './offer.repository.js';
import { CITIZEN_AUTHENTICATOR, MAX_CODE_FAILURES, type CitizenAuthenticator } from './citizen-authenticator.js';
import type { CredentialOfferEntity } from './offer.entity.js';

const ACCESS_TOKEN_KEY_OWNER = 'oid4vci:access-token';
const NONCE_TTL_SECONDS = 300;
const ACCESS_TOKEN_TTL_SECONDS = 600;
const PROOF_MAX_AGE_SECONDS = 300;
const PROOF_CLOCK_SKEW_SECONDS = 60;
const PAR_TTL_SECONDS = 90;
const CODE_TTL_SECONDS = 60;
const DEFERRED_INTERVAL_SECONDS = 5;

export const createOfferSchema = z.object({
  type: z.string().min(1).describe('catalogue type id, e.g. driving-licence'),
  formats: z.array(z.enum(CREDENTIAL_FORMATS)).min(1).max(2).default(['dc+sd-jwt']),
  claims: z.record(z.string(), z.unknown()),
  flow: z.enum(['pre-authorized_code', 'authorization_code']).default('pre-authorized_code'),
  txCode: z.boolean().default(true).describe('pre-authorized flow: require a PIN, delivered to the citizen out of band'),
  requiresApproval: z.boolean().default(false).describe('deferred issuance: the wallet waits until an officer approves'),
  byReference: z.boolean().default(false).describe('offer by credential_offer_uri instead of by value'),
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(86_400),
});

const notificationSchema = z.object({
  notification_id: z.string().min(1).max(64),
  event: z.enum(['credential_accepted', 'credential_failure', 'credential_deleted']),
  event_description: z.string().max(500).optional(),
});

type ParsedTokenRequest = ReturnType<Oauth2AuthorizationServer['parseAccessTokenRequest']>;
type AuthorizationCodeTokenRequest = Omit<ParsedTokenRequest, 'grant'> & {
  grant: Extract<ParsedTokenRequest['grant'], { grantType: typeof authorizationCodeGrantIdentifier }>;
};

/** Adapts a Fastify request to the protocol layer's view: full public URL, headers, method. */
export function requestLike(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
): RequestLike {
  const fetchHeaders = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) fetchHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { method: method as RequestLike['method'], url: base + path.split('?')[0], headers: fetchHeaders };
}

/** The protocol layer's errors carry the exact OAuth / OID4VCI error code; keep it. */
function asOAuthError(error: unknown): unknown {
  if (error instanceof Oauth2ServerErrorResponseError) {
    const { error: code, error_description: description, ...extra } = error.errorResponse;
    return new OAuthError(error.status ?? 400, code, description, extra);
  }
  if (error instanceof Oauth2ResourceUnauthorizedError) {
    const challenge = error.wwwAuthenticateHeaders[0];
    return new OAuthError(
      401,
      challenge?.error ?? 'invalid_token',
      challenge?.error_description,
      {},
      {
        'www-authenticate': error.toHeaderValue(),
      },
    );
  }
  return error;
}

async function mapErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asOAuthError(error);
  }
}

/**
 * OpenID for Verifiable Credential Issuance 1.0 for the whole service: one credential issuer (our public
 * URL) and authorization server; each offer names the agency whose key signs the credential.
 */
@Injectable()
export class Oid4vciService {
  private readonly logger = new Logger('Oid4vciService');
  private readonly base: string;
  private readonly issuer: Openid4vciIssuer;
  private readonly authorizationServer: Oauth2AuthorizationServer;
  private readonly resourceServer: Oauth2ResourceServer;
  private accessTokenKey: { id: string; jwk: Jwk } | undefined;
  private lastNoncePurge = 0;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly offers: OfferRepository,
    private readonly agencies: AgencyRepository,
    private readonly issuance: IssuanceService,
    @Inject(CITIZEN_AUTHENTICATOR) private readonly citizens: CitizenAuthenticator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = publicBaseUrl(config);
    allowHttpOutsideProduction(this.base, config.env);
    const callbacks = oid4vcCallbacks(
      (publicJwk, header, payload) => this.signOwnJwt(publicJwk, header, payload),
      // The resource server fetches our JWKS to check access tokens; answer it without a network trip.
      async (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (url === `${this.base}/.well-known/jwks.json`) {
          return new Response(JSON.stringify(await this.jwks()), { headers: { 'content-type': 'application/jwk-set+json' } });
        }
        return fetch(input, init);
      },
    );
    this.issuer = new Openid4vciIssuer({ callbacks });
    this.authorizationServer = new Oauth2AuthorizationServer({ callbacks });
    this.resourceServer = new Oauth2ResourceServer({ callbacks });
  }

  get baseUrl(): string {
    return this.base;
  }

  authorizationServerMetadata() {
    return this.authorizationServer.createAuthorizationServerMetadata({
      issuer: this.base,
      token_endpoint: `${this.base}/oid4vci/token`,
      authorization_endpoint: `${this.base}/oid4vci/authorize`,
      pushed_authorization_request_endpoint: `${this.base}/oid4vci/par`,
      require_pushed_authorization_requests: true,
      code_challenge_methods_supported: [PkceCodeChallengeMethod.S256],
      response_types_supported: ['code'],
      jwks_uri: `${this.base}/.well-known/jwks.json`,
      grant_types_supported: [preAuthorizedCodeGrantIdentifier, authorizationCodeGrantIdentifier],
      dpop_signing_alg_values_supported: ['ES256'],
      'pre-authorized_grant_anonymous_access_supported': true,
    });
  }

  credentialIssuerMetadata() {
    return this.issuer.createCredentialIssuerMetadata({
      credential_issuer: this.base,
      authorization_servers: [this.base],
      credential_endpoint: `${this.base}/oid4vci/credential`,
      nonce_endpoint: `${this.base}/oid4vci/nonce`,
      deferred_credential_endpoint: `${this.base}/oid4vci/deferred`,
      notification_endpoint: `${this.base}/oid4vci/notification`,
      display: [
        { name: 'Chancery 电子证照签发服务', locale: 'zh-CN' },
        { name: 'Chancery e-licence issuer', locale: 'en' },
      ],
      batch_credential_issuance: { batch_size: 10 },
      credential_configurations_supported: credentialConfigurations(this.catalogue) as never,
    });
  }

  private issuerMetadata(): IssuerMetadataResult {
    return {
      originalDraftVersion: Openid4vciVersion.V1,
      credentialIssuer: this.credentialIssuerMetadata(),
      authorizationServers: [this.authorizationServerMetadata()],
      knownCredentialConfigurations: credentialConfigurations(this.catalogue) as never,
    } as IssuerMetadataResult;
  }

  async jwks() {
    const key = await this.tokenKey();
    return { keys: [{ ...key.jwk, kid: jwkThumbprint(key.jwk as JsonWebKey), use: 'sig', alg: 'ES256' }] };
  }

  /** An officer offers a credential to a citizen: deep link, QR codes, and the PIN to hand over separately. */
  async createOffer(agency: Agency, body: unknown) {
    const input = parseOrThrow(createOfferSchema, body);
    const type = this.catalogue.get(input.type);
    if (!type) throw badRequest(`Unknown credential type ${input.type}`, [{ path: 'type', message: 'unknown credential type' }]);
    const unsupported = input.formats.filter((format) => !type.formats.includes(format));
    if (unsupported.length) throw badRequest(`${type.id} is not issued as ${unsupported.join(', ')}`);
    const violations = this.catalogue.validateClaims(type.id, input.claims);
    if (violations.length) throw badRequest(`The claims do not match the ${type.id} schema`, violations);

    const id = randomUUID();
    const grantSecret = randomToken(32);
    const authorizationCodeFlow = input.flow === 'authorization_code';
    // The PIN (pre-authorized) or the login code (authorization code flow) goes to the citizen out of band.
    const txCode = input.txCode || authorizationCodeFlow ? String(randomInt(0, 1_000_000)).padStart(6, '0') : undefined;
    const configurationIds = [...new Set(input.formats)].map((format) => configurationId(type.id, format));
    const expiresAt = new Date(Date.now() + input.expiresInSeconds * 1000);
    await this.offers.insert({
      id,
      agencyId: agency.id,
      typeId: type.id,
      configurationIds: JSON.stringify(configurationIds),
      issuedConfigurations: '[]',
      claimsSealed: await this.keys.sealJson(input.claims, `offer:${id}`),
      offerSealed: null,
      flow: input.flow,
      approval: input.requiresApproval ? 'pending' : null,
      preAuthCodeHash: sha256Hex(grantSecret),
      txCodeHash: txCode ? sha256Hex(`${id}:${txCode}`) : null,
      txCodeFailures: 0,
      status: 'offered',
      expiresAt,
      createdAt: new Date(),
    });
    const offerUri = `${this.base}/oid4vci/offers/${id}`;
    const { credentialOffer, credentialOfferObject } = await this.issuer.createCredentialOffer({
      issuerMetadata: this.issuerMetadata(),
      credentialConfigurationIds: configurationIds,
      grants: authorizationCodeFlow
        ? { [authorizationCodeGrantIdentifier]: { issuer_state: grantSecret } }
        : {
            [preAuthorizedCodeGrantIdentifier]: {
              'pre-authorized_code': grantSecret,
              ...(txCode
                ? { tx_code: { input_mode: 'numeric', length: 6, description: 'PIN sent to you by SMS / 短信验证码' } }
                : {}),
            },
          },
      ...(input.byReference ? { credentialOfferUri: offerUri } : {}),
    });
    if (input.byReference)
      await this.offers.setSealedOffer(id, await this.keys.sealJson(credentialOfferObject, `offer-object:${id}`));
    this.logger.log({ agencyId: agency.id, offerId: id, typeId: type.id }, 'credential offer created');
    return {
      offerId: id,
      credentialOffer,
      ...(input.byReference ? { credentialOfferUri: offerUri } : {}),
      ...(authorizationCodeFlow ? { loginCode: txCode } : { txCode }),
      expiresAt,
      qr: {
        png: await QRCode.toDataURL(credentialOffer, { errorCorrectionLevel: 'M', margin: 2, width: 360 }),
        svg: await QRCode.toString(credentialOffer, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
      },
    };
  }

  /** The credential_offer_uri target: the offer object, kept sealed because it holds the pre-authorized code. */
  async offerByReference(id: string): Promise<unknown> {
    const offer = await this.offers.byId(id);
    if (!offer?.offerSealed || offer.status !== 'offered' || offer.expiresAt <= new Date()) {
      throw new OAuthError(404, 'invalid_request', 'No such credential offer, or it expired');
    }
    return this.keys.openJson(offer.offerSealed, `offer-object:${id}`);
  }

  async token(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const parsed = this.authorizationServer.parseAccessTokenRequest({
        accessTokenRequest: (body ?? {}) as Record<string, unknown>,
        request,
      });
      if (parsed.grant.grantType === authorizationCodeGrantIdentifier) {
        return this.authorizationCodeToken(parsed as AuthorizationCodeTokenRequest, request);
      }
      if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
        throw new OAuthError(
          400,
          Oauth2ErrorCodes.UnsupportedGrantType,
          'Use the pre-authorized code or the authorization code grant',
        );
      }
      const code = parsed.grant.preAuthorizedCode;
      const offer = await this.offers.byCodeHash(sha256Hex(code));
      const now = new Date();
      if (!offer || offer.flow !== 'pre-authorized_code')
        throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'Unknown pre-authorized code');
      if (offer.status === 'locked')
        throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'Too many wrong PINs; ask for a new offer');
      if (offer.status !== 'offered')
        throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'The pre-authorized code was already used');
      if (offer.expiresAt <= now) throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'The credential offer has expired');
      if (offer.txCodeHash) {
        const attempts = await this.offers.reserveCodeAttempt(offer.id, MAX_CODE_FAILURES);
        if (attempts === undefined)
          throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'Too many wrong PINs; ask for a new offer');
        const given = parsed.grant.txCode;
        if (!given || !secretsEqual(sha256Hex(`${offer.id}:${given}`), offer.txCodeHash)) {
          if (attempts >= MAX_CODE_FAILURES) await this.offers.lock(offer.id);
          throw new OAuthError(
            400,
            Oauth2ErrorCodes.InvalidGrant,
            attempts >= MAX_CODE_FAILURES
              ? 'Wrong PIN; the offer is now locked'
              : `Wrong PIN (${MAX_CODE_FAILURES - attempts} tries left)`,
          );
        }
      }
      await this.assertFreshDpop(request, 400);
      const { dpop } = await this.authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
        authorizationServerMetadata: this.authorizationServerMetadata(),
        grant: parsed.grant,
        accessTokenRequest: parsed.accessTokenRequest,
        request,
        expectedPreAuthorizedCode: code,
        expectedTxCode: parsed.grant.txCode,
        preAuthorizedCodeExpiresAt: offer.expiresAt,
        dpop: { required: false, ...parsed.dpop },
      });
      // The single-use step: of any number of concurrent redemptions, one UPDATE matches.
      if (!(await this.offers.redeem(offer.id, now))) {
        throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'The pre-authorized code was already used');
      }
      return this.accessTokenResponse(offer.id, dpop);
    });
  }

  private async accessTokenResponse(
    offerId: string,
    dpop: Parameters<Oauth2AuthorizationServer['createAccessTokenResponse']>[0]['dpop'],
  ) {
    const key = await this.tokenKey();
    return this.authorizationServer.createAccessTokenResponse({
      audience: this.base,
      authorizationServer: this.base,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: key.jwk },
      subject: offerId,
      expiresInSeconds: ACCESS_TOKEN_TTL_SECONDS,
      dpop,
    });
  }

  /** Pushed authorization request (RFC 9126): PKCE S256 required, bound to an authorization-code offer by issuer_state. */
  async pushedAuthorizationRequest(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const parsed = await this.authorizationServer.parsePushedAuthorizationRequest({
        authorizationRequest: body ?? {},
        request,
      });
      const authorizationRequest = parsed.authorizationRequest as Record<string, string | undefined>;
      await this.authorizationServer.verifyPushedAuthorizationRequest({
        authorizationServerMetadata: this.authorizationServerMetadata(),
        authorizationRequest,
        request,
        dpop: parsed.dpop ? { required: false, ...parsed.dpop } : undefined,
      });
      const {
        client_id: clientId,
        redirect_uri: redirectUri,
        code_challenge: challenge,
        code_challenge_method: method,
      } = authorizationRequest;
      const issuerState = authorizationRequest['issuer_state'];
      if (authorizationRequest['response_type'] !== 'code')
        throw new OAuthError(400, 'unsupported_response_type', 'response_type must be code');
      if (!clientId || !redirectUri) throw new OAuthError(400, 'invalid_request', 'client_id and redirect_uri are required');
      if (!challenge || method !== PkceCodeChallengeMethod.S256 || !/^[A-Za-z0-9_-]{43}$/.test(challenge))
        throw new OAuthError(400, 'invalid_request', 'PKCE with code_challenge_method S256 is required');
      // Bounded like the columns that keep them, so oversize values are a client error, not a failed insert.
      if (clientId.length > 200 || redirectUri.length > 500 || (authorizationRequest['state']?.length ?? 0) > 200) {
        throw new OAuthError(400, 'invalid_request', 'client_id, redirect_uri or state is too long');
      }
      if (!/^https?:\/\/|^[a-z][a-z0-9+.-]*:/.test(redirectUri))
        throw new OAuthError(400, 'invalid_request', 'redirect_uri must be an absolute URI');
      const offer = issuerState ? await this.offers.byCodeHash(sha256Hex(issuerState)) : null;
      if (!offer || offer.flow !== 'authorization_code' || offer.status !== 'offered' || offer.expiresAt <= new Date()) {
        throw new OAuthError(400, 'invalid_request', 'issuer_state does not name an open credential offer');
      }
      const requestUri = `urn:ietf:params:oauth:request_uri:${randomToken(24)}`;
      await this.offers.insertSession({
        id: randomUUID(),
        offerId: offer.id,
        clientId,
        redirectUri,
        state: authorizationRequest['state'] ?? null,
        codeChallenge: challenge,
        requestUriHash: sha256Hex(requestUri),
        requestExpiresAt: new Date(Date.now() + PAR_TTL_SECONDS * 1000),
        codeHash: null,
        codeExpiresAt: null,
        status: 'pushed',
        createdAt: new Date(),
      });
      return this.authorizationServer.createPushedAuthorizationResponse({ requestUri, expiresInSeconds: PAR_TTL_SECONDS })
        .pushedAuthorizationResponse;
    });
  }

  /** The authorization endpoint only accepts pushed requests; returns what the login page needs. */
  async authorizationSession(clientId: unknown, requestUri: unknown) {
    if (typeof requestUri !== 'string' || typeof clientId !== 'string') {
      throw new OAuthError(
        400,
        'invalid_request',
        'Use a request_uri from the pushed authorization request endpoint, with client_id',
      );
    }
    const session = await this.offers.sessionByRequestUri(sha256Hex(requestUri));
    if (!session || session.clientId !== clientId || session.status !== 'pushed' || session.requestExpiresAt <= new Date()) {
      throw new OAuthError(400, 'invalid_request', 'The request_uri is unknown, used or expired');
    }
    const offer = (await this.offers.byId(session.offerId))!;
    const agency = await this.agencies.byId(offer.agencyId);
    const type = this.catalogue.get(offer.typeId)!;
    return {
      session,
      offer,
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
    const { session, offer } = await this.authorizationSession(clientId, requestUri);
    const authentication = await this.citizens.authenticate(offer, form);
    if (!authentication.ok) {
      if (authentication.final)
        return { redirect: this.redirectWith(session, { error: 'access_denied', error_description: authentication.message }) };
      return { retry: authentication.message };
    }
    const code = randomToken(32);
    if (!(await this.offers.authorizeSession(session.id, sha256Hex(code), new Date(Date.now() + CODE_TTL_SECONDS * 1000)))) {
      throw new OAuthError(400, 'invalid_request', 'This authorization request was already completed');
    }
    return { redirect: this.redirectWith(session, { code }) };
  }

  private redirectWith(session: { redirectUri: string; state: string | null }, params: Record<string, string>): string {
    const url = new URL(session.redirectUri);
    for (const [name, value] of Object.entries({
      ...params,
      ...(session.state ? { state: session.state } : {}),
      iss: this.base,
    })) {
      url.searchParams.set(name, value);
    }
    return url.toString();
  }

  private async authorizationCodeToken(parsed: AuthorizationCodeTokenRequest, request: RequestLike) {
    const code = parsed.grant.code;
    const session = await this.offers.sessionByCode(sha256Hex(code));
    if (!session || session.status !== 'authorized')
      throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'Unknown or used authorization code');
    if (parsed.accessTokenRequest['redirect_uri'] !== session.redirectUri) {
      throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'redirect_uri does not match the authorization request');
    }
    await this.assertFreshDpop(request, 400);
    const { dpop } = await this.authorizationServer.verifyAuthorizationCodeAccessTokenRequest({
      authorizationServerMetadata: this.authorizationServerMetadata(),
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request,
      expectedCode: code,
      codeExpiresAt: session.codeExpiresAt ?? new Date(0),
      pkce: {
        codeVerifier: parsed.pkceCodeVerifier,
        codeChallenge: session.codeChallenge,
        codeChallengeMethod: PkceCodeChallengeMethod.S256,
      },
      dpop: { required: false, ...parsed.dpop },
    });
    if (!(await this.offers.exchangeCode(session.id)) || !(await this.offers.redeem(session.offerId, new Date()))) {
      throw new OAuthError(400, Oauth2ErrorCodes.InvalidGrant, 'The authorization code was already used');
    }
    return this.accessTokenResponse(session.offerId, dpop);
  }

  async nonce() {
    if (Date.now() - this.lastNoncePurge > 60_000) {
      this.lastNoncePurge = Date.now();
      await this.offers.purgeExpiredNonces(new Date());
    }
    const cNonce = randomToken(24);
    await this.offers.insertNonce(cNonce, new Date(Date.now() + NONCE_TTL_SECONDS * 1000));
    return this.issuer.createNonceResponse({ cNonce, cNonceExpiresIn: NONCE_TTL_SECONDS });
  }

  async credential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const offer = await this.authorisedOffer(request);
      const metadata = this.issuerMetadata();
      const parsed = this.issuer.parseCredentialRequest({
        issuerMetadata: metadata,
        credentialRequest: (body ?? {}) as Record<string, unknown>,
      });
      const configuration = parsed.credentialConfigurationId;
      const offered = JSON.parse(offer.configurationIds) as string[];
      if (configuration && !(configuration in credentialConfigurations(this.catalogue))) {
        throw new OAuthError(400, 'unknown_credential_configuration', `Unknown credential configuration ${configuration}`);
      }
      if (!configuration || !offered.includes(configuration)) {
        throw new OAuthError(
          400,
          'invalid_credential_request',
          `Request one of the offered configurations: ${offered.join(', ')}`,
        );
      }
      const issuedAlready = JSON.parse(offer.issuedConfigurations) as string[];
      if (issuedAlready.includes(configuration))
        throw new OAuthError(400, 'invalid_credential_request', `${configuration} was already issued`);
      const proofs = parsed.proofs?.jwt;
      if (!proofs?.length) throw new OAuthError(400, 'invalid_proof', 'A jwt proof of possession of the holder key is required');
      if (proofs.length > 10) throw new OAuthError(400, 'invalid_proof', 'At most 10 proofs per request');

      // All proofs are checked first; their nonces (one shared by a batch, or one each) are then consumed
      // once each, so a failed request burns none and a replay finds them gone.
      const checked: { key: JsonWebKey; nonce: string }[] = [];
      for (const jwt of proofs) checked.push(await this.verifyProof(jwt, metadata));
      for (const nonce of new Set(checked.map((proof) => proof.nonce))) {
        if (!(await this.offers.consumeNonce(nonce, new Date()))) {
          throw new OAuthError(
            400,
            'invalid_nonce',
            'The proof nonce is unknown, expired or already used; get a fresh one from the nonce endpoint',
          );
        }
      }
      const holderKeys = checked.map((proof) => proof.key);

      const last = issuedAlready.length + 1 === offered.length;
      const deferred = offer.approval === 'pending';
      if (!(await this.offers.markIssued(offer, configuration, last && !deferred))) {
        throw new OAuthError(400, 'invalid_credential_request', `${configuration} was already issued`);
      }
      if (deferred) {
        const transactionId = randomToken(24);
        await this.offers.insertDeferred({
          transactionHash: sha256Hex(transactionId),
          offerId: offer.id,
          configurationId: configuration,
          holderKeys: JSON.stringify(holderKeys),
          status: 'pending',
          createdAt: new Date(),
        });
        this.logger.log({ offerId: offer.id, configuration }, 'credential request deferred until an officer approves');
        return {
          status: 202,
          body: this.issuer.createCredentialResponse({
            credentialRequest: parsed,
            transactionId,
            interval: DEFERRED_INTERVAL_SECONDS,
          }),
        };
      }
      const { credentials, notificationId } = await this.issueFor(offer, configuration, holderKeys, last);
      return {
        status: 200,
        body: this.issuer.createCredentialResponse({ credentialRequest: parsed, credentials, notificationId }),
      };
    });
  }

  /**
   * Deferred credential endpoint (OID4VCI 1.0 §9.2): 202 with the same transaction_id and an interval
   * while the application waits for an officer, then 200 with the credentials, once.
   */
  async deferredCredential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const offer = await this.authorisedOffer(request);
      const transactionId = (body as { transaction_id?: unknown } | undefined)?.transaction_id;
      const pending = typeof transactionId === 'string' ? await this.offers.deferred(sha256Hex(transactionId)) : null;
      if (typeof transactionId !== 'string' || !pending || pending.offerId !== offer.id || pending.status !== 'pending') {
        throw new OAuthError(400, 'invalid_transaction_id', 'Unknown or already completed transaction_id');
      }
      const current = (await this.offers.byId(offer.id))!;
      if (current.approval !== 'approved') {
        return {
          status: 202,
          body: this.issuer.createDeferredCredentialResponse({ transactionId, interval: DEFERRED_INTERVAL_SECONDS }),
        };
      }
      if (!(await this.offers.completeDeferred(pending.transactionHash))) {
        throw new OAuthError(400, 'invalid_transaction_id', 'Unknown or already completed transaction_id');
      }
      const offered = JSON.parse(current.configurationIds) as string[];
      const last = (JSON.parse(current.issuedConfigurations) as string[]).length === offered.length;
      const { credentials } = await this.issueFor(current, pending.configurationId, JSON.parse(pending.holderKeys), last);
      // @openid4vc 0.4.6 inverts a check in its deferred-response schema (client and server): it refuses
      // notification_id next to credentials. Wallets on that library would reject the response, so the
      // optional notification_id is left out of deferred responses; the notification row still exists.
      return { status: 200, body: this.issuer.createDeferredCredentialResponse({ credentials }) };
    });
  }

  /** An officer approves an application; deferred requests can then be completed by the wallet. */
  async approve(agency: Agency, offerId: string): Promise<{ approved: true }> {
    if (!(await this.offers.approve(offerId, agency.id))) throw notFound(`No offer ${offerId} of this agency awaiting approval`);
    this.logger.log({ agencyId: agency.id, offerId }, 'application approved');
    return { approved: true };
  }

  private async issueFor(offer: CredentialOfferEntity, configuration: string, holderKeys: JsonWebKey[], eraseClaims: boolean) {
    const { typeId, format } = parseConfigurationId(configuration)!;
    const agency = (await this.agencies.byId(offer.agencyId))!;
    const claims = await this.keys.openJson<Record<string, unknown>>(offer.claimsSealed!, `offer:${offer.id}`);
    const credentials: { credential: string }[] = [];
    const credentialIds: string[] = [];
    for (const holderJwk of holderKeys) {
      const issued = await this.issuance.issue(agency, { typeId, claims, format, holderJwk });
      credentials.push({ credential: issued.credential });
      credentialIds.push(issued.id);
    }
    if (eraseClaims) await this.offers.eraseClaims(offer.id);
    const notificationId = randomUUID();
    await this.offers.insertNotification({
      id: notificationId,
      offerId: offer.id,
      credentialIds: JSON.stringify(credentialIds),
      event: null,
      description: null,
      reportedAt: null,
    });
    return { credentials, notificationId };
  }

  async notification(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const offer = await this.authorisedOffer(request);
      const parsed = notificationSchema.safeParse(body);
      if (!parsed.success) throw new OAuthError(400, 'invalid_notification_request', parsed.error.issues[0]?.message);
      const { notification_id: id, event, event_description: description } = parsed.data;
      // Notifications are idempotent (OID4VCI 1.0 §11): the same report again is a success.
      if (!(await this.offers.reportNotification(id, offer.id, event, description ?? null))) {
        const known = await this.offers.notification(id);
        if (known?.offerId === offer.id && known.event === event) return;
        throw new OAuthError(
          400,
          'invalid_notification_id',
          'Unknown notification_id, or a different event was already reported',
        );
      }
      this.logger.log({ offerId: offer.id, notificationId: id, event }, 'wallet notification');
    });
  }

  /** Verifies the access token (Bearer or DPoP-bound) and returns the redeemed offer it was issued for. */
  /**
   * RFC 9449 §11.1 replay protection the protocol layer leaves to us: a DPoP proof must be recent, and
   * its jti is accepted once (remembered for as long as the proof could be recent).
   */
  private async assertFreshDpop(request: RequestLike, status: 400 | 401): Promise<void> {
    const proof = request.headers.get('dpop');
    if (!proof) return;
    const claims = readJosePart(proof, 1);
    if (!claims) throw new OAuthError(status, 'invalid_dpop_proof', 'The DPoP proof is not a JWT');
    const { iat, jti } = claims;
    const now = Math.floor(Date.now() / 1000);
    if (typeof iat !== 'number' || iat > now + PROOF_CLOCK_SKEW_SECONDS || iat < now - PROOF_MAX_AGE_SECONDS) {
      throw new OAuthError(status, 'invalid_dpop_proof', 'The DPoP proof iat is missing or not recent');
    }
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256)
      throw new OAuthError(status, 'invalid_dpop_proof', 'The DPoP proof needs a jti');
    const remembered = await this.offers.rememberOnce(
      `dpop:${createHash('sha256').update(jti).digest('base64url')}`,
      new Date((now + PROOF_MAX_AGE_SECONDS + PROOF_CLOCK_SKEW_SECONDS) * 1000),
    );
    if (!remembered) throw new OAuthError(status, 'invalid_dpop_proof', 'The DPoP proof was already used');
  }

  private async authorisedOffer(request: RequestLike): Promise<CredentialOfferEntity> {
    const { tokenPayload } = await this.resourceServer.verifyResourceRequest({
      authorizationServers: [this.authorizationServerMetadata()],
      request,
      resourceServer: this.base,
      allowedAuthenticationSchemes: [SupportedAuthenticationScheme.DPoP, SupportedAuthenticationScheme.Bearer],
    });
    await this.assertFreshDpop(request, 401);
    const offer = tokenPayload.sub ? await this.offers.byId(tokenPayload.sub) : null;
    if (!offer || (offer.status !== 'redeemed' && offer.status !== 'issued')) {
      throw new OAuthError(401, 'invalid_token', 'The access token does not belong to an active offer');
    }
    return offer;
  }

  /**
   * A `jwt` key proof: our checks around the library's (typ, signature, aud): the nonce must be one we
   * handed out and is consumed here, and iat must be recent.
   */
  private async verifyProof(jwt: string, metadata: IssuerMetadataResult): Promise<{ key: JsonWebKey; nonce: string }> {
    const claims = readJosePart(jwt, 1);
    if (!claims) throw new OAuthError(400, 'invalid_proof', 'The proof is not a JWT');
    const { nonce, iat } = claims;
    const verified = await this.issuer.verifyCredentialRequestJwtProof({
      issuerMetadata: metadata,
      jwt,
      expectedNonce: typeof nonce === 'string' ? nonce : undefined,
    });
    const now = Math.floor(Date.now() / 1000);
    if (typeof iat !== 'number' || iat > now + PROOF_CLOCK_SKEW_SECONDS || iat < now - PROOF_MAX_AGE_SECONDS) {
      throw new OAuthError(400, 'invalid_proof', 'The proof iat is missing or not recent');
    }
    if (typeof nonce !== 'string')
      throw new OAuthError(400, 'invalid_nonce', 'The proof carries no nonce; get one from the nonce endpoint');
    const key = verified.signer.method === 'jwk' ? verified.signer.publicJwk : undefined;
    if (!key) throw new OAuthError(400, 'invalid_proof', 'The proof must carry the holder key as jwk');
    return { key: key as JsonWebKey, nonce };
  }

  private async tokenKey(): Promise<{ id: string; jwk: Jwk }> {
    if (this.accessTokenKey) return this.accessTokenKey;
    const key =
      (await this.keys.findByOwner(ACCESS_TOKEN_KEY_OWNER, 'service-account')) ??
      (await this.keys.createKey('ES256', 'service-account', ACCESS_TOKEN_KEY_OWNER));
    this.accessTokenKey = { id: key.id, jwk: p256HexToJwk(key.publicKeyHex) as Jwk };
    return this.accessTokenKey;
  }

  private async signOwnJwt(publicJwk: Jwk, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
    const key = await this.tokenKey();
    if (publicJwk.x !== key.jwk.x || publicJwk.y !== key.jwk.y) throw new Error('Asked to sign with a key that is not ours');
    return signJws(header, payload, (input) => this.keys.signJws(key.id, input));
  }
}
