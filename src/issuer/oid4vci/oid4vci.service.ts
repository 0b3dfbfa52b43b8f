import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import QRCode from 'qrcode';
import { z } from 'zod';
import {
  Oauth2AuthorizationServer,
  Oauth2Error,
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
import {
  badRequest,
  notFound,
  OAuthError,
  parseOrThrow,
  randomToken,
  secretsEqual,
  sha256Hex,
  BackgroundJob,
} from '../../common/index.js';
import { OpenId4VcBaseError } from '@openid4vc/utils';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { KeyService } from '../../keys/index.js';
import {
  Catalogue,
  compactJwsProblem,
  readJosePart,
  signJws,
  CREDENTIAL_FORMATS,
  HOLDER_KEY_ALGORITHMS,
} from '../../credentials/index.js';
import {
  allowHttpOutsideProduction,
  checkDpopProof,
  checkKeyProof,
  configurationId,
  credentialConfigurations,
  oauthError,
  oid4vcCallbacks,
  parseConfigurationId,
  safeErrorDescription,
  unauthorizedError,
  type AuthScheme,
} from '../../oid4vci/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { AgencyRepository } from '../agencies/agency.repository.js';
import { IssuanceService } from '../credentials/issuance.service.js';
import { OfferRepository } from './offer.repository.js';
import { CITIZEN_AUTHENTICATOR, MAX_CODE_FAILURES, type CitizenAuthenticator } from './citizen-authenticator.js';
import type { CredentialOfferEntity } from './offer.entity.js';
import { TokenKeys } from './token-keys.js';

const NONCE_TTL_SECONDS = 300;
export const ACCESS_TOKEN_TTL_SECONDS = 600;
/** DPoP jtis are remembered this much longer than a proof can be recent. */
const JTI_MARGIN_SECONDS = 60;
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

/** Fixed texts for the protocol library's errors: its own messages (multi-line, echoing input) never reach clients. */
const LIBRARY_DESCRIPTIONS: Record<string, string> = {
  invalid_request: 'The request is malformed or misses a required parameter',
  invalid_grant: 'The grant is invalid, expired or already used',
  invalid_client: 'Client authentication failed',
  unsupported_grant_type: 'Use the pre-authorized code or the authorization code grant',
  invalid_dpop_proof: 'The DPoP proof is invalid',
  invalid_token: 'The access token is invalid or expired',
  invalid_proof: 'The key proof is invalid',
  invalid_nonce: 'The proof nonce is invalid; get a fresh one from the nonce endpoint',
  invalid_credential_request: 'The credential request is invalid',
  unknown_credential_configuration: 'Unknown credential configuration',
  unknown_credential_identifier: 'Unknown credential identifier',
};

/**
 * Errors of the protocol layer keep their OAuth / OID4VCI error code, get a fixed safe description and,
 * at protected endpoints, a well-formed challenge; any other library error about the client's input is
 * `fallback` (400). Our own OAuthErrors pass through.
 */
function asOAuthError(error: unknown, fallback: string, schemes: readonly AuthScheme[] | undefined): unknown {
  if (error instanceof OAuthError) return error;
  if (error instanceof Oauth2ResourceUnauthorizedError) {
    const challenge = error.wwwAuthenticateHeaders[0];
    const code = challenge?.error ?? 'invalid_token';
    const scheme: AuthScheme = challenge?.scheme === 'Bearer' && code !== 'invalid_dpop_proof' ? 'Bearer' : 'DPoP';
    if (!challenge?.error) return unauthorizedError({ schemes: schemes ?? ['DPoP', 'Bearer'], dpopAlgs: HOLDER_KEY_ALGORITHMS });
    return unauthorizedError({
      schemes: schemes ?? ['DPoP', 'Bearer'],
      dpopAlgs: HOLDER_KEY_ALGORITHMS,
      error: { scheme, code, description: LIBRARY_DESCRIPTIONS[code] ?? LIBRARY_DESCRIPTIONS['invalid_token'] },
    });
  }
  if (error instanceof Oauth2ServerErrorResponseError) {
    const { error: code } = error.errorResponse;
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
    return oauthError(status, code, LIBRARY_DESCRIPTIONS[code] ?? LIBRARY_DESCRIPTIONS[fallback]);
  }
  if (error instanceof Oauth2Error || error instanceof OpenId4VcBaseError) {
    return oauthError(400, fallback, LIBRARY_DESCRIPTIONS[fallback]);
  }
  return error;
}

async function mapErrors<T>(work: () => Promise<T>, fallback = 'invalid_request', schemes?: readonly AuthScheme[]): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asOAuthError(error, fallback, schemes);
  }
}

/** The two identifiers a credential request may name, exactly one of them (OID4VCI 1.0 §8.2). */
function requestedCredential(body: unknown): { configurationId?: string; identifier?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw oauthError(400, 'invalid_credential_request', 'The credential request must be a JSON object');
  const request = body as Record<string, unknown>;
  const configurationId = request['credential_configuration_id'];
  const identifier = request['credential_identifier'];
  if (configurationId !== undefined && identifier !== undefined)
    throw oauthError(400, 'invalid_credential_request', 'Give credential_identifier or credential_configuration_id, not both');
  if (configurationId === undefined && identifier === undefined)
    throw oauthError(400, 'invalid_credential_request', 'credential_identifier or credential_configuration_id is required');
  if (configurationId !== undefined && typeof configurationId !== 'string')
    throw oauthError(400, 'invalid_credential_request', 'credential_configuration_id must be a string');
  if (identifier !== undefined && typeof identifier !== 'string')
    throw oauthError(400, 'invalid_credential_request', 'credential_identifier must be a string');
  if (request['format'] !== undefined)
    throw oauthError(400, 'invalid_credential_request', 'format is not used in OID4VCI 1.0 requests');
  const proofs = request['proofs'];
  if (proofs !== undefined) {
    const jwt = (proofs as Record<string, unknown> | null)?.['jwt'];
    if (typeof proofs !== 'object' || proofs === null || !Array.isArray(jwt) || Object.keys(proofs).length !== 1)
      throw oauthError(400, 'invalid_proof', 'proofs must hold one non-empty jwt array');
    // A proof that is not a signed compact JWT is invalid_proof (OID4VCI 1.0 §8.3.1.2), before any library parses it.
    if (jwt.some((proof) => typeof proof !== 'string' || compactJwsProblem(proof) !== undefined))
      throw oauthError(400, 'invalid_proof', 'Each jwt proof must be a signed compact JWS');
  }
  if (request['proof'] !== undefined && proofs !== undefined)
    throw oauthError(400, 'invalid_credential_request', 'Give proofs, not proof and proofs');
  const single = request['proof'] as Record<string, unknown> | undefined;
  if (single !== undefined && (typeof single?.['jwt'] !== 'string' || compactJwsProblem(single['jwt']) !== undefined))
    throw oauthError(400, 'invalid_proof', 'The jwt proof must be a signed compact JWS');
  return { configurationId: configurationId as string | undefined, identifier: identifier as string | undefined };
}

/** RFC 9396 authorization_details of type openid_credential, as the configuration ids they name. */
function authorizationDetailsConfigurations(value: unknown, known: Record<string, unknown>): string[] | undefined {
  if (value === undefined) return undefined;
  let details: unknown = value;
  if (typeof value === 'string') {
    try {
      details = JSON.parse(value);
    } catch {
      throw oauthError(400, 'invalid_authorization_details', 'authorization_details is not JSON');
    }
  }
  if (!Array.isArray(details) || details.length === 0 || details.length > 10)
    throw oauthError(400, 'invalid_authorization_details', 'authorization_details must be a non-empty array');
  return details.map((detail: unknown) => {
    const entry = detail as Record<string, unknown> | null;
    if (entry?.['type'] !== 'openid_credential' || typeof entry['credential_configuration_id'] !== 'string')
      throw oauthError(
        400,
        'invalid_authorization_details',
        'Each authorization detail needs type openid_credential and credential_configuration_id',
      );
    if (!(entry['credential_configuration_id'] in known))
      throw oauthError(400, 'invalid_authorization_details', 'authorization_details names an unknown credential configuration');
    return entry['credential_configuration_id'];
  });
}

/**
 * OpenID for Verifiable Credential Issuance 1.0 for the whole service: one credential issuer (our public
 * URL) and authorization server; each offer names the agency whose key signs the credential.
 */
@Injectable()
export class Oid4vciService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Oid4vciService');
  private readonly purgeJob = new BackgroundJob(this.logger, 'OID4VCI purge');
  private readonly proofMaxAgeSeconds: number;
  private readonly walletRedirectUris: ReadonlySet<string>;
  private readonly purgeIntervalMs: number;
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly base: string;
  private readonly issuer: Openid4vciIssuer;
  private readonly authorizationServer: Oauth2AuthorizationServer;
  private readonly resourceServer: Oauth2ResourceServer;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly offers: OfferRepository,
    private readonly agencies: AgencyRepository,
    private readonly issuance: IssuanceService,
    @Inject(CITIZEN_AUTHENTICATOR) private readonly citizens: CitizenAuthenticator,
    private readonly tokenKeys: TokenKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = publicBaseUrl(config);
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
    this.walletRedirectUris = new Set(config.oid4vci.walletRedirectUris);
    this.purgeIntervalMs = config.oid4vci.purgeIntervalMs;
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

  /** One purge timer per replica; each run is plain DELETEs of expired rows, so replicas may overlap. */
  onApplicationBootstrap(): void {
    this.purgeTimer = setInterval(() => {
      void this.purgeJob.run(() => this.purgeExpired(new Date()));
    }, this.purgeIntervalMs);
    this.purgeTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.purgeTimer);
  }

  /** Drops expired OID4VCI state: nonces and DPoP jtis, PAR / authorization sessions, expired offers' claims. */
  purgeExpired(now: Date): Promise<void> {
    return this.offers.purgeExpired(now);
  }

  /** Operator rotation of the access-token key; tokens of older keys stay valid for their lifetime. */
  rotateAccessTokenKey(now = new Date()) {
    return this.tokenKeys.rotate(ACCESS_TOKEN_TTL_SECONDS + JTI_MARGIN_SECONDS, now);
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
      dpop_signing_alg_values_supported: [...HOLDER_KEY_ALGORITHMS],
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

  /** Every active access-token key (any replica may have signed with any of them), newest first. */
  async jwks() {
    const keys = await this.tokenKeys.active();
    return { keys: keys.map((key) => ({ ...key.jwk, kid: key.kid, use: 'sig', alg: 'ES256' })) };
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
      throw oauthError(404, 'invalid_request', 'No such credential offer, or it expired');
    }
    return this.keys.openJson(offer.offerSealed, `offer-object:${id}`);
  }

  async token(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      // The DPoP proof is checked before anything else, so a bad proof never costs a PIN attempt.
      await this.assertFreshDpop(request, 400);
      const parsed = this.authorizationServer.parseAccessTokenRequest({
        accessTokenRequest: (body ?? {}) as Record<string, unknown>,
        request,
      });
      if (parsed.grant.grantType === authorizationCodeGrantIdentifier) {
        return this.authorizationCodeToken(parsed as AuthorizationCodeTokenRequest, request);
      }
      if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
        throw oauthError(
          400,
          Oauth2ErrorCodes.UnsupportedGrantType,
          'Use the pre-authorized code or the authorization code grant',
        );
      }
      const given = parsed.grant.txCode;
      const code = parsed.grant.preAuthorizedCode;
      const offer = await this.offers.byCodeHash(sha256Hex(code));
      const now = new Date();
      if (!offer || offer.flow !== 'pre-authorized_code')
        throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'Unknown pre-authorized code');
      if (offer.status === 'locked')
        throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'Too many wrong PINs; ask for a new offer');
      if (offer.status !== 'offered')
        throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'The pre-authorized code was already used');
      if (offer.expiresAt <= now) throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'The credential offer has expired');
      // OID4VCI 1.0 §6.3: a missing tx_code where one is needed, or one where none is, is invalid_request
      // and costs no attempt; only a wrong one is invalid_grant and counted.
      if (offer.txCodeHash && (given === undefined || given === ''))
        throw oauthError(400, Oauth2ErrorCodes.InvalidRequest, 'This offer needs its tx_code (the PIN sent to you)');
      if (!offer.txCodeHash && given !== undefined)
        throw oauthError(400, Oauth2ErrorCodes.InvalidRequest, 'This offer has no tx_code; do not send one');
      if (offer.txCodeHash) {
        const attempts = await this.offers.reserveCodeAttempt(offer.id, MAX_CODE_FAILURES);
        if (attempts === undefined)
          throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'Too many wrong PINs; ask for a new offer');
        if (!given || !secretsEqual(sha256Hex(`${offer.id}:${given}`), offer.txCodeHash)) {
          if (attempts >= MAX_CODE_FAILURES) await this.offers.lock(offer.id);
          throw oauthError(
            400,
            Oauth2ErrorCodes.InvalidGrant,
            attempts >= MAX_CODE_FAILURES
              ? 'Wrong PIN; the offer is now locked'
              : `Wrong PIN (${MAX_CODE_FAILURES - attempts} tries left)`,
          );
        }
      }
      const { dpop } = await this.authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
        authorizationServerMetadata: this.authorizationServerMetadata(),
        grant: parsed.grant,
        accessTokenRequest: parsed.accessTokenRequest,
        request,
        expectedPreAuthorizedCode: code,
        expectedTxCode: parsed.grant.txCode,
        preAuthorizedCodeExpiresAt: offer.expiresAt,
        dpop: { required: false, ...parsed.dpop, allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS] },
      });
      // The single-use step: of any number of concurrent redemptions, one UPDATE matches.
      if (!(await this.offers.redeem(offer.id, now))) {
        throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'The pre-authorized code was already used');
      }
      return this.accessTokenResponse(offer.id, dpop, undefined);
    });
  }

  /**
   * The token response. After authorization_details (RFC 9396), it names the granted credentials with
   * credential_identifiers (OID4VCI 1.0 §6.2); the token carries them, and the credential endpoint then
   * expects credential_identifier.
   */
  private async accessTokenResponse(
    offerId: string,
    dpop: Parameters<Oauth2AuthorizationServer['createAccessTokenResponse']>[0]['dpop'],
    credentialIdentifiers: string[] | undefined,
  ) {
    const key = await this.tokenKeys.current();
    const authorizationDetails = credentialIdentifiers?.map((id) => ({
      type: 'openid_credential',
      credential_configuration_id: id,
      credential_identifiers: [id],
    }));
    const response = await this.authorizationServer.createAccessTokenResponse({
      audience: this.base,
      authorizationServer: this.base,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: key.jwk },
      subject: offerId,
      expiresInSeconds: ACCESS_TOKEN_TTL_SECONDS,
      dpop,
      ...(authorizationDetails ? { additionalAccessTokenPayload: { authorization_details: authorizationDetails } } : {}),
    });
    return authorizationDetails ? { ...response, authorization_details: authorizationDetails } : response;
  }

  /** Pushed authorization request (RFC 9126): PKCE S256 required, bound to an authorization-code offer by issuer_state. */
  async pushedAuthorizationRequest(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const parsed = await this.authorizationServer.parsePushedAuthorizationRequest({
        authorizationRequest: body ?? {},
        request,
      });
      const authorizationRequest = parsed.authorizationRequest as Record<string, string | undefined>;
      await this.assertFreshDpop(request, 400);
      const dpopJkt = authorizationRequest['dpop_jkt'];
      if (dpopJkt !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(dpopJkt))
        throw oauthError(400, 'invalid_request', 'dpop_jkt must be a base64url SHA-256 JWK thumbprint');
      const verified = await this.authorizationServer.verifyPushedAuthorizationRequest({
        authorizationServerMetadata: this.authorizationServerMetadata(),
        authorizationRequest,
        request,
        dpop: parsed.dpop ? { required: false, ...parsed.dpop, allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS] } : undefined,
      });
      const {
        client_id: clientId,
        redirect_uri: redirectUri,
        code_challenge: challenge,
        code_challenge_method: method,
      } = authorizationRequest;
      const issuerState = authorizationRequest['issuer_state'];
      if (authorizationRequest['response_type'] !== 'code')
        throw oauthError(400, 'unsupported_response_type', 'response_type must be code');
      if (!clientId || !redirectUri) throw oauthError(400, 'invalid_request', 'client_id and redirect_uri are required');
      if (!challenge || method !== PkceCodeChallengeMethod.S256 || !/^[A-Za-z0-9_-]{43}$/.test(challenge))
        throw oauthError(400, 'invalid_request', 'PKCE with code_challenge_method S256 is required');
      // Bounded like the columns that keep them, so oversize values are a client error, not a failed insert.
      if (clientId.length > 200 || redirectUri.length > 500 || (authorizationRequest['state']?.length ?? 0) > 200) {
        throw oauthError(400, 'invalid_request', 'client_id, redirect_uri or state is too long');
      }
      // Exact match against the configured wallet redirect URIs (RFC 9700 §4.1.1); nothing else is accepted.
      if (!this.walletRedirectUris.has(redirectUri))
        throw oauthError(400, 'invalid_request', 'redirect_uri is not a registered wallet redirect URI');
      const credentialIdentifiers = authorizationDetailsConfigurations(
        (body as Record<string, unknown> | undefined)?.['authorization_details'],
        credentialConfigurations(this.catalogue),
      );
      const offer = issuerState ? await this.offers.byCodeHash(sha256Hex(issuerState)) : null;
      if (!offer || offer.flow !== 'authorization_code' || offer.status !== 'offered' || offer.expiresAt <= new Date()) {
        throw oauthError(400, 'invalid_request', 'issuer_state does not name an open credential offer');
      }
      const offered = JSON.parse(offer.configurationIds) as string[];
      if (credentialIdentifiers?.some((id) => !offered.includes(id)))
        throw oauthError(400, 'invalid_authorization_details', 'authorization_details names a credential that was not offered');
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
        // RFC 9449 §10: the code is bound to the PAR's DPoP key (proof or dpop_jkt); the token request must use it.
        dpopJkt: verified.dpop?.jwkThumbprint ?? dpopJkt ?? null,
        credentialIdentifiers: credentialIdentifiers ? JSON.stringify([...new Set(credentialIdentifiers)]) : null,
        createdAt: new Date(),
      });
      return this.authorizationServer.createPushedAuthorizationResponse({ requestUri, expiresInSeconds: PAR_TTL_SECONDS })
        .pushedAuthorizationResponse;
    });
  }

  /** The authorization endpoint only accepts pushed requests; returns what the login page needs. */
  async authorizationSession(clientId: unknown, requestUri: unknown) {
    if (typeof requestUri !== 'string' || typeof clientId !== 'string') {
      throw oauthError(
        400,
        'invalid_request',
        'Use a request_uri from the pushed authorization request endpoint, with client_id',
      );
    }
    const session = await this.offers.sessionByRequestUri(sha256Hex(requestUri));
    if (!session || session.clientId !== clientId || session.status !== 'pushed' || session.requestExpiresAt <= new Date()) {
      throw oauthError(400, 'invalid_request', 'The request_uri is unknown, used or expired');
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
        return {
          redirect: this.redirectWith(session, {
            error: 'access_denied',
            error_description: safeErrorDescription(authentication.message),
          }),
        };
      return { retry: authentication.message };
    }
    const code = randomToken(32);
    if (!(await this.offers.authorizeSession(session.id, sha256Hex(code), new Date(Date.now() + CODE_TTL_SECONDS * 1000)))) {
      throw oauthError(400, 'invalid_request', 'This authorization request was already completed');
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
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'Unknown or used authorization code');
    if (parsed.accessTokenRequest['redirect_uri'] !== session.redirectUri) {
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'redirect_uri does not match the authorization request');
    }
    const clientId = parsed.accessTokenRequest['client_id'];
    if (clientId !== undefined && clientId !== session.clientId)
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'The authorization code was issued to another client');
    if (session.dpopJkt && !parsed.dpop?.jwt)
      throw oauthError(400, 'invalid_dpop_proof', 'The authorization code is bound to a DPoP key; send a DPoP proof with it');
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
      dpop: {
        required: session.dpopJkt !== null,
        ...parsed.dpop,
        allowedSigningAlgs: [...HOLDER_KEY_ALGORITHMS],
        ...(session.dpopJkt ? { expectedJwkThumbprint: session.dpopJkt } : {}),
      },
    });
    if (!(await this.offers.exchangeCode(session.id)) || !(await this.offers.redeem(session.offerId, new Date()))) {
      throw oauthError(400, Oauth2ErrorCodes.InvalidGrant, 'The authorization code was already used');
    }
    return this.accessTokenResponse(
      session.offerId,
      dpop,
      session.credentialIdentifiers ? (JSON.parse(session.credentialIdentifiers) as string[]) : undefined,
    );
  }

  async nonce() {
    const cNonce = randomToken(24);
    await this.offers.insertNonce(cNonce, new Date(Date.now() + NONCE_TTL_SECONDS * 1000));
    return this.issuer.createNonceResponse({ cNonce, cNonceExpiresIn: NONCE_TTL_SECONDS });
  }

  async credential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const { offer, credentialIdentifiers } = await this.authorisedOffer(request);
      const metadata = this.issuerMetadata();
      const requested = requestedCredential(body);
      const offered = JSON.parse(offer.configurationIds) as string[];
      // OID4VCI 1.0 §8.2: after authorization_details the token names credential identifiers, and the
      // request must use one of them; otherwise it names an offered configuration.
      let configuration: string;
      if (credentialIdentifiers) {
        if (requested.identifier === undefined)
          throw oauthError(
            400,
            'invalid_credential_request',
            'This access token was granted credential_identifiers; send credential_identifier',
          );
        if (!credentialIdentifiers.includes(requested.identifier))
          throw oauthError(400, 'unknown_credential_identifier', 'Unknown credential_identifier');
        configuration = requested.identifier;
      } else {
        if (requested.identifier !== undefined)
          throw oauthError(400, 'unknown_credential_identifier', 'This access token was granted no credential identifiers');
        configuration = requested.configurationId!;
        if (!(configuration in credentialConfigurations(this.catalogue)))
          throw oauthError(400, 'unknown_credential_configuration', 'Unknown credential_configuration_id');
      }
      if (!offered.includes(configuration)) {
        throw oauthError(400, 'invalid_credential_request', `Request one of the offered configurations: ${offered.join(', ')}`);
      }
      const parsed = this.issuer.parseCredentialRequest({
        issuerMetadata: metadata,
        credentialRequest: body as Record<string, unknown>,
      });
      const issuedAlready = JSON.parse(offer.issuedConfigurations) as string[];
      if (issuedAlready.includes(configuration))
        throw oauthError(400, 'invalid_credential_request', `${configuration} was already issued`);
      const proofs = parsed.proofs?.jwt;
      if (!proofs?.length) throw oauthError(400, 'invalid_proof', 'A jwt proof of possession of the holder key is required');
      if (parsed.proofs && Object.keys(parsed.proofs).some((type) => type !== 'jwt'))
        throw oauthError(400, 'invalid_proof', 'Only jwt proofs are supported');
      if (proofs.length > 10) throw oauthError(400, 'invalid_proof', 'At most 10 proofs per request');

      // All proofs are checked first; their nonces (one shared by a batch, or one each) are then consumed
      // once each, so a failed request burns none and a replay finds them gone.
      const checked: { key: JsonWebKey; nonce: string }[] = [];
      for (const jwt of proofs) checked.push(await this.verifyProof(jwt, metadata));
      for (const nonce of new Set(checked.map((proof) => proof.nonce))) {
        if (!(await this.offers.consumeNonce(nonce, new Date()))) throw this.invalidNonce();
      }
      const holderKeys = checked.map((proof) => proof.key);

      const last = issuedAlready.length + 1 === offered.length;
      const deferred = offer.approval === 'pending';
      if (!(await this.offers.markIssued(offer, configuration, last && !deferred))) {
        throw oauthError(400, 'invalid_credential_request', `${configuration} was already issued`);
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
    }, 'invalid_credential_request');
  }

  /** OID4VCI 1.0 §8.3.1.2 invalid_nonce; the wallet gets a fresh c_nonce from the nonce endpoint. */
  private invalidNonce(): OAuthError {
    return oauthError(
      400,
      'invalid_nonce',
      `The proof nonce is missing, unknown, expired or already used; get a fresh one from ${this.base}/oid4vci/nonce`,
    );
  }

  /**
   * Deferred credential endpoint (OID4VCI 1.0 §9.2): 202 with the same transaction_id and an interval
   * while the application waits for an officer, then 200 with the credentials, once.
   */
  async deferredCredential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const { offer } = await this.authorisedOffer(request);
      const transactionId = (body as { transaction_id?: unknown } | undefined)?.transaction_id;
      const pending = typeof transactionId === 'string' ? await this.offers.deferred(sha256Hex(transactionId)) : null;
      if (typeof transactionId !== 'string' || !pending || pending.offerId !== offer.id || pending.status !== 'pending') {
        throw oauthError(400, 'invalid_transaction_id', 'Unknown or already completed transaction_id');
      }
      const current = (await this.offers.byId(offer.id))!;
      if (current.approval !== 'approved') {
        return {
          status: 202,
          body: this.issuer.createDeferredCredentialResponse({ transactionId, interval: DEFERRED_INTERVAL_SECONDS }),
        };
      }
      if (!(await this.offers.completeDeferred(pending.transactionHash))) {
        throw oauthError(400, 'invalid_transaction_id', 'Unknown or already completed transaction_id');
      }
      const offered = JSON.parse(current.configurationIds) as string[];
      const last = (JSON.parse(current.issuedConfigurations) as string[]).length === offered.length;
      const { credentials } = await this.issueFor(current, pending.configurationId, JSON.parse(pending.holderKeys), last);
      // @openid4vc 0.4.6 inverts a check in its deferred-response schema (client and server): it refuses
      // notification_id next to credentials. Wallets on that library would reject the response, so the
      // optional notification_id is left out of deferred responses; the notification row still exists.
      return { status: 200, body: this.issuer.createDeferredCredentialResponse({ credentials }) };
    }, 'invalid_credential_request');
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
      const { offer } = await this.authorisedOffer(request);
      const parsed = notificationSchema.safeParse(body);
      if (!parsed.success)
        throw oauthError(400, 'invalid_notification_request', `Invalid ${parsed.error.issues[0]?.path.join('.') || 'request'}`);
      const { notification_id: id, event, event_description: description } = parsed.data;
      // Notifications are idempotent (OID4VCI 1.0 §11): the same report again is a success.
      if (!(await this.offers.reportNotification(id, offer.id, event, description ?? null))) {
        const known = await this.offers.notification(id);
        if (known?.offerId === offer.id && known.event === event) return;
        throw oauthError(400, 'invalid_notification_id', 'Unknown notification_id, or a different event was already reported');
      }
      this.logger.log({ offerId: offer.id, notificationId: id, event }, 'wallet notification');
    }, 'invalid_notification_request');
  }

  /**
   * RFC 9449 checks the protocol layer leaves to us, on the raw header before it sees it: strict JOSE
   * structure, typ, the advertised alg, a public key without private members, a recent iat, and a jti
   * accepted once (remembered for as long as the proof could be recent).
   */
  private async assertFreshDpop(request: RequestLike, status: 400 | 401): Promise<void> {
    const proof = request.headers.get('dpop');
    if (proof === null) return;
    const now = new Date();
    const checked = checkDpopProof(proof, { now, maxAgeSeconds: this.proofMaxAgeSeconds });
    if (!checked.ok) throw this.dpopError(status, `The DPoP proof is invalid: ${checked.description}`);
    const remembered = await this.offers.rememberOnce(
      `dpop:${createHash('sha256').update(checked.value.jti).digest('base64url')}`,
      new Date(now.getTime() + (this.proofMaxAgeSeconds + JTI_MARGIN_SECONDS) * 1000),
    );
    if (!remembered) throw this.dpopError(status, 'The DPoP proof was already used');
  }

  private dpopError(status: 400 | 401, description: string): OAuthError {
    if (status === 400) return oauthError(400, 'invalid_dpop_proof', description);
    return unauthorizedError({
      schemes: ['DPoP'],
      dpopAlgs: HOLDER_KEY_ALGORITHMS,
      error: { scheme: 'DPoP', code: 'invalid_dpop_proof', description },
    });
  }

  /**
   * Verifies the access token (Bearer, or DPoP-bound with its proof) and returns the redeemed offer it was
   * issued for, and the credential identifiers it grants. Every failure is a 401 with a challenge.
   */
  private async authorisedOffer(
    request: RequestLike,
  ): Promise<{ offer: CredentialOfferEntity; credentialIdentifiers: string[] | undefined }> {
    const challenge = (scheme: AuthScheme | undefined, code: string, description: string) =>
      unauthorizedError({
        schemes: ['DPoP', 'Bearer'],
        dpopAlgs: HOLDER_KEY_ALGORITHMS,
        ...(scheme ? { error: { scheme, code, description } } : {}),
      });
    const authorization = request.headers.get('authorization');
    if (!authorization) throw challenge(undefined, 'invalid_token', 'An access token is required');
    const match = /^(DPoP|Bearer) ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
    if (!match) throw challenge('Bearer', 'invalid_token', 'The Authorization header must be DPoP or Bearer with a token');
    const scheme = match[1] as AuthScheme;
    const token = match[2]!;
    const header = readJosePart(token, 0);
    const claims = readJosePart(token, 1);
    if (!header || !claims) throw challenge(scheme, 'invalid_token', 'The access token is invalid or expired');
    // RFC 9449 §7.1: a DPoP-bound token is only accepted with the DPoP scheme and a proof.
    const bound = typeof (claims['cnf'] as Record<string, unknown> | undefined)?.['jkt'] === 'string';
    if (bound && scheme !== 'DPoP')
      throw challenge('DPoP', 'invalid_token', 'This access token is DPoP-bound; use the DPoP scheme');
    if (scheme === 'DPoP' && !bound) throw challenge('DPoP', 'invalid_token', 'This access token is not DPoP-bound');
    if (scheme === 'DPoP' && request.headers.get('dpop') === null)
      throw challenge('DPoP', 'invalid_dpop_proof', 'A DPoP proof is required with a DPoP-bound access token');
    // Any replica's key: an unknown kid makes this replica read the active keys again.
    if (typeof header['kid'] !== 'string' || !(await this.tokenKeys.byKid(header['kid'])))
      throw challenge(scheme, 'invalid_token', 'The access token is invalid or expired');
    await this.assertFreshDpop(request, 401);
    const { tokenPayload } = await mapErrors(
      () =>
        this.resourceServer.verifyResourceRequest({
          authorizationServers: [this.authorizationServerMetadata()],
          request,
          resourceServer: this.base,
          allowedAuthenticationSchemes: [SupportedAuthenticationScheme.DPoP, SupportedAuthenticationScheme.Bearer],
        }),
      'invalid_token',
      ['DPoP', 'Bearer'],
    ).catch((error: unknown) => {
      if (error instanceof OAuthError && error.status === 401) throw error;
      throw challenge(scheme, 'invalid_token', 'The access token is invalid or expired');
    });
    const offer = tokenPayload.sub ? await this.offers.byId(tokenPayload.sub) : null;
    if (!offer || (offer.status !== 'redeemed' && offer.status !== 'issued')) {
      throw challenge(scheme, 'invalid_token', 'The access token does not belong to an active offer');
    }
    const details = (tokenPayload as Record<string, unknown>)['authorization_details'];
    const credentialIdentifiers = Array.isArray(details)
      ? details.flatMap((detail: { credential_identifiers?: unknown }) =>
          Array.isArray(detail.credential_identifiers)
            ? detail.credential_identifiers.filter((id) => typeof id === 'string')
            : [],
        )
      : undefined;
    return { offer, credentialIdentifiers };
  }

  /**
   * A `jwt` key proof: our strict checks first (checkKeyProof: structure, typ, pinned alg, public holder
   * key, iat window), then the library's (signature, aud); the nonce must be one we handed out and is
   * consumed by the caller.
   */
  private async verifyProof(jwt: string, metadata: IssuerMetadataResult): Promise<{ key: JsonWebKey; nonce: string }> {
    const checked = checkKeyProof(jwt, { now: new Date(), maxAgeSeconds: this.proofMaxAgeSeconds });
    if (!checked.ok) throw oauthError(400, 'invalid_proof', `The key proof is invalid: ${checked.description}`);
    const { key, nonce } = checked.value;
    if (nonce === undefined) throw this.invalidNonce();
    try {
      await this.issuer.verifyCredentialRequestJwtProof({ issuerMetadata: metadata, jwt, expectedNonce: nonce });
    } catch {
      throw oauthError(400, 'invalid_proof', 'The key proof signature, audience or claims do not verify');
    }
    // Only the public members checkKeyProof returned ever reach cnf.
    return { key, nonce };
  }

  private async signOwnJwt(publicJwk: Jwk, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
    const key = (await this.tokenKeys.active()).find((active) => active.jwk.x === publicJwk.x && active.jwk.y === publicJwk.y);
    if (!key) throw new Error('Asked to sign with a key that is not ours');
    // Name the key by kid (every active key is in the JWKS), not by an embedded jwk.
    const { jwk: _jwk, ...rest } = header;
    return signJws({ ...rest, kid: key.kid }, payload, (input) => this.keys.signJws(key.keyId, input));
  }
}
