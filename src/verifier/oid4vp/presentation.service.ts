import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import QRCode from 'qrcode';
import { compactDecrypt, importJWK } from 'jose';
import { z } from 'zod';
import type { Jwk } from '@openid4vc/oauth2';
import type { DcqlCredentialPresentation, DcqlQuery } from 'dcql';
import { Openid4vpVerifier } from '@openid4vc/openid4vp';
import {
  badRequest,
  issueApiKey,
  notFound,
  parseApiKey,
  OAuthError,
  parseOrThrow,
  randomToken,
  secretsEqual,
  sha256Hex,
  unauthorized,
  BackgroundJob,
} from '../../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { KeyService } from '../../keys/index.js';
import { Catalogue, didJwk, p256HexToJwk, readJosePart, signJws } from '../../credentials/index.js';
import { allowHttpOutsideProduction, oid4vcCallbacks } from '../../oauth/index.js';
import {
  analyseDcqlQuery,
  claimsBeyondRegistration,
  dcqlMatchProblems,
  DcqlProblem,
  vpTokenProblems,
  type RequestedCredential,
} from '../../oid4vp/index.js';
import { VerifierService } from '../verifier.service.js';
import { RelyingPartyRepository } from './relying-party.repository.js';
import type { PresentationRequestEntity, RelyingPartyEntity } from './relying-party.entity.js';
import { postWebhook, resolvePublicAddresses, webhookUrlProblem, type WebhookPolicy } from './webhook.js';

const REQUEST_TTL_SECONDS = 300;

export const registerRelyingPartySchema = z.object({
  name: z.string().trim().min(1).max(200),
  purpose: z.string().trim().min(1).max(500),
  allowedClaims: z
    .record(z.string(), z.array(z.string().min(1)).min(1))
    .describe('catalogue type id → claim names it may ask for'),
  clientIdPrefix: z.enum(['redirect_uri', 'decentralized_identifier', 'x509_san_dns']).default('decentralized_identifier'),
  webhookUrl: z.url().max(500).optional(),
});

export const createRequestSchema = z.object({
  dcql_query: z.record(z.string(), z.unknown()),
  response_mode: z.enum(['direct_post', 'direct_post.jwt']).default('direct_post.jwt'),
  /** Same-device flow: where the wallet sends the citizen back after answering. */
  redirect_uri: z
    .url()
    .max(2000)
    .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL')
    .optional(),
});

/** Issuer DIDs a presentation claims (read before any verification, to bound the chain lookups). */
function claimedIssuers(presentation: string): string[] {
  const issuerOf = (jwt: unknown) => {
    const iss = typeof jwt === 'string' ? readJosePart(jwt, 1)?.['iss'] : undefined;
    return typeof iss === 'string' ? iss : '(none)';
  };
  if (presentation.includes('~')) return [issuerOf(presentation.split('~')[0])];
  const vp = readJosePart(presentation, 1)?.['vp'] as { verifiableCredential?: unknown } | undefined;
  const inner = vp?.verifiableCredential;
  return (Array.isArray(inner) ? inner : [inner]).map(issuerOf);
}

export interface Verdict {
  verified: boolean;
  reason?: string;
  credentials: { queryId: string; type?: string; issuer?: string; claims?: Record<string, unknown>; checks?: unknown[] }[];
}

/**
 * OpenID for Verifiable Presentations 1.0 for registered relying parties: DCQL requests limited to
 * their registration, signed request objects by request_uri, direct_post(.jwt) responses bound to the
 * request, and verification through the shared verifier. Verdicts keep only the requested claims.
 */
@Injectable()
export class PresentationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PresentationService');
  private readonly purgeJob = new BackgroundJob(this.logger, 'presentation purge');
  private readonly base: string;
  private readonly openid4vp: Openid4vpVerifier;
  private readonly limits: AppConfig['oid4vp'];
  private readonly webhookPolicy: WebhookPolicy;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly parties: RelyingPartyRepository,
    private readonly verifier: VerifierService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = publicBaseUrl(config);
    allowHttpOutsideProduction(this.base, config.env);
    this.limits = config.oid4vp;
    this.webhookPolicy = { production: config.env === 'production', allowLoopback: config.oid4vp.webhookAllowPrivate };
    this.openid4vp = this.protocol(async () => {
      throw new Error('Request objects are signed with the relying party key (see createRequest)');
    });
  }

  /** The protocol layer with our callbacks; `sign` signs request objects with one relying party's key. */
  private protocol(
    sign: (header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<string>,
    signerJwk?: Jwk,
  ): Openid4vpVerifier {
    const callbacks = oid4vcCallbacks((_jwk, header, payload) => sign(header, payload));
    return new Openid4vpVerifier({
      callbacks: {
        ...callbacks,
        signJwt: async (signer, { header, payload }) => {
          const jwt = await sign(header, payload);
          return { jwt, signerJwk: (signer as { publicJwk?: Jwk }).publicJwk ?? signerJwk ?? ({} as Jwk) };
        },
        encryptJwe: () => {
          throw new Error('The verifier does not encrypt');
        },
        decryptJwe: (jwe) => this.decryptResponse(jwe),
      },
    });
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => {
      void this.purgeJob.run(() => this.purgeNow());
    }, this.limits.purgeIntervalMs);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /**
   * Purges verdict claims whose retention is over and deletes requests that expired unanswered
   * (VERDICT_RETENTION_SECONDS after their expiry). Runs every PRESENTATION_PURGE_INTERVAL_MS.
   */
  async purgeNow(now = new Date()): Promise<{ verdicts: number; expired: number }> {
    const purged = await this.parties.purge(now, new Date(now.getTime() - this.limits.verdictRetentionSeconds * 1000));
    if (purged.verdicts || purged.expired) this.logger.log(purged, 'presentation requests purged');
    return purged;
  }

  get responseUri(): string {
    return `${this.base}/oid4vp/response`;
  }

  async register(body: unknown) {
    const input = parseOrThrow(registerRelyingPartySchema, body);
    const unknown = Object.keys(input.allowedClaims).filter((typeId) => !this.catalogue.get(typeId));
    const badClaims = Object.entries(input.allowedClaims).flatMap(([typeId, claims]) =>
      claims
        .filter((claim) => this.catalogue.get(typeId) && !(claim in this.catalogue.get(typeId)!.claims.properties))
        .map((claim) => `${typeId}.${claim}`),
    );
    if (unknown.length || badClaims.length) {
      throw badRequest('allowedClaims names unknown types or claims', [
        ...unknown.map((typeId) => ({ path: `allowedClaims.${typeId}`, message: 'unknown credential type' })),
        ...badClaims.map((claim) => ({ path: `allowedClaims.${claim}`, message: 'unknown claim' })),
      ]);
    }
    if (input.webhookUrl) {
      const problem = webhookUrlProblem(input.webhookUrl, this.webhookPolicy);
      if (problem) throw badRequest('webhookUrl is not allowed', [{ path: 'webhookUrl', message: problem }]);
      try {
        await resolvePublicAddresses(new URL(input.webhookUrl).hostname, this.webhookPolicy);
      } catch {
        // The resolver's own text (getaddrinfo …) stays in the server; the client gets a fixed reason.
        throw badRequest('webhookUrl is not allowed', [
          { path: 'webhookUrl', message: 'the host does not resolve to public addresses only' },
        ]);
      }
    }
    const id = randomUUID();
    const key = await this.keys.createKey('ES256', 'service-account', `relying-party:${id}`);
    // x509_san_dns: the party's certificate names our public host, where its requests and responses live.
    const certificate =
      input.clientIdPrefix === 'x509_san_dns'
        ? (
            await this.keys.selfSignedCertificate(key.id, {
              commonName: input.name,
              dnsNames: [new URL(this.base).hostname],
              validityDays: 365,
            })
          ).toString('base64')
        : null;
    const apiKey = issueApiKey('rpk');
    const webhookSecret = input.webhookUrl ? randomToken(32) : undefined;
    await this.parties.insert({
      id,
      name: input.name,
      purpose: input.purpose,
      allowedClaims: JSON.stringify(input.allowedClaims),
      clientIdPrefix: input.clientIdPrefix,
      signingKeyId: key.id,
      certificate,
      webhookUrl: input.webhookUrl ?? null,
      webhookSecretSealed: webhookSecret ? await this.keys.sealJson(webhookSecret, `webhook:${id}`) : null,
      apiKeyPrefix: apiKey.prefix,
      apiKeyHash: apiKey.secretHash,
      createdAt: new Date(),
    });
    const party = (await this.parties.byId(id))!;
    return {
      relyingParty: {
        ...this.view(party),
        clientId: this.clientId(party, key.publicKeyHex),
        ...(certificate ? { certificate } : {}),
      },
      apiKey: apiKey.token,
      ...(webhookSecret ? { webhookSecret } : {}),
    };
  }

  /** Only live (not revoked) keys authenticate; a revoked key is refused on its next request. */
  async authenticate(token: string | undefined): Promise<RelyingPartyEntity> {
    const parsed = token ? parseApiKey(token, 'rpk') : undefined;
    const key = parsed ? await this.parties.liveApiKey(parsed.prefix) : null;
    const party =
      key && secretsEqual(sha256Hex(parsed!.secret), key.secretHash) ? await this.parties.byId(key.relyingPartyId) : null;
    if (!party) throw unauthorized('A valid relying party API key is required');
    return party;
  }

  /** Another API key for a party (rotation); returned once. */
  async createApiKey(partyId: string): Promise<{ apiKey: string; prefix: string }> {
    if (!(await this.parties.byId(partyId))) throw notFound(`No relying party ${partyId}`);
    const apiKey = issueApiKey('rpk');
    await this.parties.insertApiKey({
      prefix: apiKey.prefix,
      relyingPartyId: partyId,
      secretHash: apiKey.secretHash,
      createdAt: new Date(),
      revokedAt: null,
    });
    return { apiKey: apiKey.token, prefix: apiKey.prefix };
  }

  async revokeApiKey(partyId: string, prefix: string): Promise<void> {
    if (!(await this.parties.revokeApiKey(partyId, prefix, new Date())))
      throw notFound(`No live API key ${prefix} for relying party ${partyId}`);
  }

  async apiKeys(partyId: string) {
    if (!(await this.parties.byId(partyId))) throw notFound(`No relying party ${partyId}`);
    return (await this.parties.apiKeys(partyId)).map(({ prefix, createdAt, revokedAt }) => ({ prefix, createdAt, revokedAt }));
  }

  /** A relying party asks for claims with DCQL; refused beyond its registration (data minimisation). */
  async createRequest(party: RelyingPartyEntity, body: unknown) {
    const input = parseOrThrow(createRequestSchema, body);
    let requested: RequestedCredential[];
    let query: unknown;
    try {
      ({ query, requested } = analyseDcqlQuery(input.dcql_query, this.catalogue));
    } catch (error) {
      if (error instanceof DcqlProblem) throw badRequest(error.message, error.violations);
      throw error;
    }
    const beyond = claimsBeyondRegistration(requested, JSON.parse(party.allowedClaims) as Record<string, string[]>);
    if (beyond.length) {
      throw badRequest(`The request asks for claims beyond what ${party.name} is registered for`, beyond);
    }

    const id = randomUUID();
    const state = randomToken(24);
    const nonce = randomToken(24);
    const viewToken = randomToken(24);
    const signing = await this.keys.getKey(party.signingKeyId);
    const clientId = this.clientId(party, signing.publicKeyHex);
    let encryption: { publicJwk: JsonWebKey; sealed: string } | undefined;
    if (input.response_mode === 'direct_post.jwt') {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      encryption = {
        publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: id, use: 'enc', alg: 'ECDH-ES' },
        sealed: await this.keys.sealJson(privateKey.export({ format: 'jwk' }), `presentation:${id}`),
      };
    }
    const payload = {
      response_type: 'vp_token' as const,
      client_id: clientId,
      nonce,
      state,
      response_mode: input.response_mode,
      response_uri: this.responseUri,
      dcql_query: query,
      client_metadata: {
        client_name: party.name,
        purpose: party.purpose,
        vp_formats_supported: {
          'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] },
          jwt_vc_json: { alg_values: ['ES256'] },
        },
        ...(encryption
          ? { jwks: { keys: [encryption.publicJwk] }, encrypted_response_enc_values_supported: ['A128GCM', 'A256GCM'] }
          : {}),
      },
    };
    const requestUri = `${this.base}/oid4vp/requests/${id}`;
    const signer = this.protocol(
      (header, claims) => signJws(header, claims, (input) => this.keys.signJws(party.signingKeyId, input)),
      p256HexToJwk(signing.publicKeyHex) as Jwk,
    );
    const jwtSigner =
      party.clientIdPrefix === 'x509_san_dns'
        ? { method: 'x5c' as const, x5c: [party.certificate!], alg: 'ES256' }
        : { method: 'did' as const, didUrl: `${clientId.slice('decentralized_identifier:'.length)}#0`, alg: 'ES256' };
    const created =
      party.clientIdPrefix === 'redirect_uri'
        ? // The redirect_uri prefix forbids signed requests: everything travels by value in the link.
          await signer.createOpenId4vpAuthorizationRequest({
            authorizationRequestPayload: payload as never,
            scheme: 'openid4vp://',
          })
        : await signer.createOpenId4vpAuthorizationRequest({
            authorizationRequestPayload: payload as never,
            scheme: 'openid4vp://',
            jar: { requestUri, expiresInSeconds: REQUEST_TTL_SECONDS, jwtSigner },
          });
    // The library returns the signed request object next to the link; we serve it at request_uri.
    const requestObject = created.jar
      ? ((created.jar as { authorizationRequestJwt?: string }).authorizationRequestJwt ?? null)
      : null;
    // Nothing that carries the nonce or state is stored in clear: the payload, the link and the request
    // object are sealed; state and nonce are also kept as hashes.
    await this.parties.insertRequest({
      id,
      relyingPartyId: party.id,
      clientId,
      requestPayload: await this.keys.sealJson(
        { authorizationRequest: payload, link: created.authorizationRequest, returnUri: input.redirect_uri },
        `presentation-payload:${id}`,
      ),
      requestObject: requestObject ? await this.keys.sealJson(requestObject, `presentation-object:${id}`) : null,
      stateHash: sha256Hex(state),
      nonceHash: sha256Hex(nonce),
      encryptionKeySealed: encryption?.sealed ?? null,
      status: 'pending',
      result: null,
      purgeAt: null,
      purgedAt: null,
      viewTokenHash: sha256Hex(viewToken),
      expiresAt: new Date(Date.now() + REQUEST_TTL_SECONDS * 1000),
      createdAt: new Date(),
      completedAt: null,
    });
    const link = created.authorizationRequest;
    return {
      id,
      link,
      clientId,
      expiresAt: new Date(Date.now() + REQUEST_TTL_SECONDS * 1000),
      deskUrl: `${this.base}/rp/desk/${id}?view=${viewToken}`,
      viewToken,
      qr: {
        png: await QRCode.toDataURL(link, { errorCorrectionLevel: 'L', margin: 2, width: 360 }),
        svg: await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }),
      },
    };
  }

  /** The request object behind request_uri (JAR, typ oauth-authz-req+jwt). */
  async requestObject(id: string): Promise<string> {
    const request = await this.parties.request(id);
    if (!request?.requestObject || request.status !== 'pending' || request.expiresAt <= new Date()) {
      throw new OAuthError(404, 'invalid_request_uri', 'No such presentation request, or it expired or was answered');
    }
    return this.keys.openJson<string>(request.requestObject, `presentation-object:${request.id}`);
  }

  /** The wallet's direct_post / direct_post.jwt response: verified, bound to its request, accepted once. */
  async handleResponse(body: unknown): Promise<{ redirect_uri?: string }> {
    const form = (body ?? {}) as Record<string, unknown>;
    const request = await this.findRequest(form);
    if (request.status !== 'pending')
      throw new OAuthError(400, 'invalid_request', 'This presentation request was already answered');
    if (request.expiresAt <= new Date()) throw new OAuthError(400, 'invalid_request', 'This presentation request has expired');
    const { authorizationRequest: authorizationRequestPayload, returnUri } = await this.stored(request);

    let verdict: Verdict;
    if (typeof form['error'] === 'string') {
      // A plain error response ends the request only with the request's own state, and only with a
      // registered error code: otherwise anyone who saw the QR code could cancel it.
      if (typeof form['state'] !== 'string' || sha256Hex(form['state']) !== request.stateHash) {
        throw new OAuthError(400, 'invalid_request', 'state does not match the request');
      }
      const error = /^[a-z_]{1,64}$/.test(form['error']) ? form['error'] : 'invalid_error_code';
      verdict = { verified: false, reason: `wallet answered ${error}`, credentials: [] };
    } else {
      let parsed;
      try {
        parsed = await this.openid4vp.parseOpenid4vpAuthorizationResponse({
          authorizationResponse: form,
          authorizationRequestPayload: authorizationRequestPayload as never,
          callbacks: { decryptJwe: (jwe) => this.decryptResponse(jwe), verifyJwt: async () => ({ verified: false }) },
        });
      } catch {
        // Library messages are not passed on verbatim.
        throw new OAuthError(400, 'invalid_request', 'The authorization response is malformed or cannot be decrypted');
      }
      if (
        parsed.authorizationResponsePayload.state !== undefined &&
        sha256Hex(String(parsed.authorizationResponsePayload.state)) !== request.stateHash
      ) {
        throw new OAuthError(400, 'invalid_request', 'state does not match the request');
      }
      if (parsed.type !== 'dcql') throw new OAuthError(400, 'invalid_request', 'Only DCQL responses are accepted');
      verdict = await this.verifyPresentations(
        request,
        authorizationRequestPayload,
        parsed.dcql.presentations as Record<string, unknown>,
      );
    }
    // Same-device: a fresh response_code travels with the browser redirect; the party must show it to read
    // the verdict, so a verdict cannot be fixed onto another person's session (OID4VP 1.0 §13.3).
    const responseCode = returnUri ? randomToken(24) : undefined;
    const stored = responseCode ? { ...verdict, responseCodeHash: sha256Hex(responseCode) } : verdict;
    // The verdict's claims are personal data: sealed at rest, purged VERDICT_MAX_UNREAD_SECONDS from now at
    // the latest (sooner once read).
    const sealed = await this.keys.sealJson(stored, `verdict:${request.id}`);
    const purgeAt = new Date(Date.now() + this.limits.verdictMaxUnreadSeconds * 1000);
    if (!(await this.parties.complete(request.id, verdict.verified ? 'verified' : 'rejected', sealed, purgeAt))) {
      throw new OAuthError(400, 'invalid_request', 'This presentation request was already answered');
    }
    this.logger.log({ presentationRequestId: request.id, verified: verdict.verified }, 'presentation answered');
    void this.notify(request, verdict);
    return returnUri
      ? { redirect_uri: `${returnUri}${returnUri.includes('?') ? '&' : '?'}request=${request.id}&response_code=${responseCode}` }
      : {};
  }

  async result(party: RelyingPartyEntity, id: string, responseCode?: unknown) {
    const request = await this.parties.request(id);
    if (!request || request.relyingPartyId !== party.id) throw notFound(`No presentation request ${id}`);
    return this.statusOf(request, responseCode);
  }

  /**
   * The desk page polls with its view token (no API key in the browser). A same-device verdict needs the
   * response_code as well: the view token alone would let whoever holds the desk link read the verdict of a
   * flow completed on another device (session fixation, OID4VP 1.0 §13.3).
   */
  async resultForView(id: string, viewToken: unknown, responseCode?: unknown) {
    const request = await this.requestForView(id, viewToken);
    return this.statusOf(request, responseCode);
  }

  /** What the desk page shows: the party, the QR code of the link. */
  async deskView(id: string, viewToken: unknown) {
    const request = await this.requestForView(id, viewToken);
    const party = (await this.parties.byId(request.relyingPartyId))!;
    if (request.status !== 'pending' && request.purgedAt) throw notFound(`No presentation request ${id}`);
    const { link } = await this.stored(request);
    return {
      id,
      viewToken: viewToken as string, // checked by requestForView
      partyName: party.name,
      purpose: party.purpose,
      link,
      qrSvg: await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }),
    };
  }

  private async requestForView(id: string, viewToken: unknown): Promise<PresentationRequestEntity> {
    const request = await this.parties.request(id);
    if (!request || typeof viewToken !== 'string' || !secretsEqual(sha256Hex(viewToken), request.viewTokenHash)) {
      throw notFound(`No presentation request ${id}`);
    }
    return request;
  }

  private async stored(request: PresentationRequestEntity) {
    type Stored = {
      authorizationRequest: { nonce: string; dcql_query: unknown } & Record<string, unknown>;
      link: string;
      returnUri?: string;
    };
    // Rows written before the hardening migration hold plain JSON.
    const stored = request.requestPayload.startsWith('{')
      ? (JSON.parse(request.requestPayload) as Stored)
      : await this.keys.openJson<Stored>(request.requestPayload, `presentation-payload:${request.id}`);
    if (request.nonceHash && sha256Hex(stored.authorizationRequest.nonce) !== request.nonceHash)
      throw new OAuthError(400, 'invalid_request', 'This presentation request is damaged');
    return stored;
  }

  private async statusOf(request: PresentationRequestEntity, responseCode?: unknown) {
    const expired = request.status === 'pending' && request.expiresAt <= new Date();
    type Stored = Verdict & { responseCodeHash?: string };
    const opened = request.result
      ? request.result.startsWith('{')
        ? (JSON.parse(request.result) as Stored)
        : await this.keys.openJson<Stored>(request.result, `verdict:${request.id}`)
      : undefined;
    const { responseCodeHash, ...verdict } = opened ?? {};
    const released =
      opened !== undefined &&
      (!responseCodeHash || (typeof responseCode === 'string' && secretsEqual(sha256Hex(responseCode), responseCodeHash)));
    // Once read, the claims are kept only VERDICT_RETENTION_SECONDS longer.
    if (released) await this.parties.purgeSoon(request.id, new Date(Date.now() + this.limits.verdictRetentionSeconds * 1000));
    return {
      id: request.id,
      status: expired ? 'expired' : request.status,
      ...(released ? { result: verdict as Verdict } : {}),
      ...(opened && !released ? { responseCodeRequired: true } : {}),
      ...(request.purgedAt ? { resultPurged: true } : {}),
      completedAt: request.completedAt,
    };
  }

  /**
   * Verifies a DCQL vp_token without trusting the wallet: its structure first (known query ids only,
   * `multiple`, at most OID4VP_MAX_VP_TOKEN_ENTRIES presentations and OID4VP_MAX_ISSUERS_PER_RESPONSE
   * distinct issuers, all before any chain lookup), then every presentation, then the verified contents
   * against every DCQL constraint (claims, values, claim_sets, vct/type, credential_sets).
   */
  private async verifyPresentations(
    request: PresentationRequestEntity,
    payload: { nonce: string; dcql_query: unknown },
    presentations: Record<string, unknown>,
  ): Promise<Verdict> {
    const { query, requested } = analyseDcqlQuery(payload.dcql_query, this.catalogue);
    const dcqlQuery = query as DcqlQuery.Output;
    const structural = vpTokenProblems(dcqlQuery, presentations, { maxEntries: this.limits.maxVpTokenEntries });
    if (structural.length) return { verified: false, reason: structural.join('; '), credentials: [] };
    const entries = Object.entries(presentations).map(([queryId, list]) => [queryId, list as string[]] as const);
    const issuers = new Set(entries.flatMap(([, list]) => list.flatMap(claimedIssuers)));
    if (issuers.size > this.limits.maxIssuersPerResponse) {
      return {
        verified: false,
        reason: `the response names ${issuers.size} issuers; at most ${this.limits.maxIssuersPerResponse}`,
        credentials: [],
      };
    }

    const credentials: Verdict['credentials'] = [];
    const reasons: string[] = [];
    const described: Record<string, DcqlCredentialPresentation[]> = {};
    for (const [queryId, list] of entries) {
      const wanted = requested.find((credential) => credential.queryId === queryId)!;
      for (const presentation of list) {
        const result = await this.verifier.verifyPresentation(presentation, { nonce: payload.nonce, audience: request.clientId });
        const verified = result.credentials[0];
        // An SD-JWT presentation reports its checks once, as the presentation's and the credential's.
        const failed = [...new Set([...result.checks, ...(verified?.checks ?? [])])].filter((check) => !check.passed);
        const credential = verified?.credential;
        if (failed.length) reasons.push(...failed.map((check) => `${queryId}: ${check.check}: ${check.reason ?? 'failed'}`));
        if (result.credentials.length > 1) reasons.push(`${queryId}: one credential per presentation`);
        if (credential && credential.type !== wanted.typeId)
          reasons.push(`${queryId}: a ${credential.type} was presented, ${wanted.typeId} was asked for`);
        const disclosed = credential?.claims ?? {};
        const claimSets = (dcqlQuery.credentials.find((entry) => entry.id === queryId) as { claim_sets?: unknown } | undefined)
          ?.claim_sets;
        const missing = claimSets ? [] : wanted.claims.filter((claim) => !(claim in disclosed));
        if (credential && missing.length) reasons.push(`${queryId}: claims not disclosed: ${missing.join(', ')}`);
        if (credential && !failed.length)
          (described[queryId] ??= []).push(this.describe(credential, [...result.checks, ...(verified?.checks ?? [])]));
        // Only what was asked for is kept, whatever else the wallet disclosed.
        const claims = Object.fromEntries(
          wanted.claims.filter((claim) => claim in disclosed).map((claim) => [claim, disclosed[claim]]),
        );
        credentials.push({
          queryId,
          type: credential?.type,
          issuer: credential?.issuer,
          claims,
          checks: verified?.checks ?? result.checks,
        });
      }
    }
    // The query's own rules on what was verified (only when every presentation verified: reasons stay precise).
    if (!reasons.length) reasons.push(...dcqlMatchProblems(dcqlQuery, described));
    return reasons.length ? { verified: false, reason: reasons.join('; '), credentials } : { verified: true, credentials };
  }

  /** A verified credential as the dcql library describes a presentation. */
  private describe(
    credential: { format: string; vct?: string; type: string; claims: Record<string, unknown> },
    checks: { check: string; passed: boolean }[],
  ): DcqlCredentialPresentation {
    const holderBound = checks.some((check) => check.check === 'holder_binding' && check.passed);
    if (credential.format === 'dc+sd-jwt') {
      return {
        credential_format: 'dc+sd-jwt',
        vct: credential.vct ?? '',
        claims: credential.claims as never,
        cryptographic_holder_binding: holderBound,
      };
    }
    const vcType = this.catalogue.get(credential.type)?.vcType;
    return {
      credential_format: 'jwt_vc_json',
      type: ['VerifiableCredential', ...(vcType ? [vcType] : [])],
      claims: { ...credential.claims, credentialSubject: credential.claims } as never,
      cryptographic_holder_binding: holderBound,
    };
  }

  private async findRequest(form: Record<string, unknown>): Promise<PresentationRequestEntity> {
    if (typeof form['response'] === 'string') {
      // direct_post.jwt: the JWE header's kid names the request whose ephemeral key decrypts it.
      const header = readJosePart(form['response'], 0);
      if (!header) throw new OAuthError(400, 'invalid_request', 'response is not a JWE');
      const kid = header['kid'];
      const request = typeof kid === 'string' ? await this.parties.request(kid) : null;
      if (!request) throw new OAuthError(400, 'invalid_request', 'The response is not for a known presentation request');
      return request;
    }
    const state = form['state'];
    const request = typeof state === 'string' ? await this.parties.requestByState(sha256Hex(state)) : null;
    if (!request) throw new OAuthError(400, 'invalid_request', 'state does not name a presentation request');
    // Error responses may come unencrypted; a presentation must be encrypted when the request said so.
    if (request.encryptionKeySealed && typeof form['error'] !== 'string')
      throw new OAuthError(400, 'invalid_request', 'This request requires an encrypted (direct_post.jwt) response');
    return request;
  }

  private async decryptResponse(jwe: string) {
    const kid = readJosePart(jwe, 0)?.['kid'];
    const request = typeof kid === 'string' ? await this.parties.request(kid) : null;
    if (!request?.encryptionKeySealed) return { decrypted: false as const };
    const privateJwk = await this.keys.openJson<JsonWebKey>(request.encryptionKeySealed, `presentation:${request.id}`);
    try {
      const { plaintext } = await compactDecrypt(jwe, await importJWK(privateJwk as never, 'ECDH-ES'), {
        keyManagementAlgorithms: ['ECDH-ES'],
        contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'],
      });
      const publicJwk = { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y, kid };
      return {
        decrypted: true as const,
        decryptionJwk: publicJwk as Jwk,
        payload: new TextDecoder().decode(plaintext),
      };
    } catch {
      return { decrypted: false as const };
    }
  }

  private clientId(party: RelyingPartyEntity, publicKeyHex: string): string {
    if (party.clientIdPrefix === 'redirect_uri') return `redirect_uri:${this.responseUri}`;
    if (party.clientIdPrefix === 'x509_san_dns') return `x509_san_dns:${new URL(this.base).hostname}`;
    return `decentralized_identifier:${didJwk(p256HexToJwk(publicKeyHex))}`;
  }

  private view(party: RelyingPartyEntity) {
    return {
      id: party.id,
      name: party.name,
      purpose: party.purpose,
      allowedClaims: JSON.parse(party.allowedClaims) as Record<string, string[]>,
      clientIdPrefix: party.clientIdPrefix,
      webhookUrl: party.webhookUrl,
    };
  }

  /**
   * Pushes the verdict to the party's webhook, signed so that it cannot be forged:
   * x-chancery-signature = v1=HMAC-SHA256(webhook secret, "<x-chancery-timestamp>.<body>") in hex.
   */
  private async notify(request: PresentationRequestEntity, verdict: Verdict): Promise<void> {
    const party = await this.parties.byId(request.relyingPartyId);
    if (!party?.webhookUrl || !party.webhookSecretSealed) return;
    try {
      const secret = await this.keys.openJson<string>(party.webhookSecretSealed, `webhook:${party.id}`);
      const body = JSON.stringify({ id: request.id, status: verdict.verified ? 'verified' : 'rejected', result: verdict });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
      const status = await postWebhook(
        party.webhookUrl,
        body,
        {
          'content-type': 'application/json',
          'x-chancery-timestamp': timestamp,
          'x-chancery-signature': `v1=${signature}`,
        },
        this.webhookPolicy,
      );
      if (status < 200 || status >= 300)
        this.logger.warn({ presentationRequestId: request.id, status }, 'webhook answered with an error');
    } catch (error) {
      this.logger.warn({ presentationRequestId: request.id, reason: (error as Error).message }, 'webhook delivery failed');
    }
  }
}
