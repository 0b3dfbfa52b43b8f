import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import QRCode from 'qrcode';
import { compactDecrypt, importJWK } from 'jose';
import { z } from 'zod';
import type { Jwk } from '@openid4vc/oauth2';
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
} from '../../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { KeyService } from '../../keys/index.js';
import { Catalogue, didJwk, p256HexToJwk, readJosePart, signJws } from '../../credentials/index.js';
import { allowHttpOutsideProduction, oid4vcCallbacks } from '../../oid4vci/index.js';
import { analyseDcqlQuery, claimsBeyondRegistration, DcqlProblem, type RequestedCredential } from '../../oid4vp/index.js';
import { VerifierService } from '../verifier.service.js';
import { RelyingPartyRepository } from './relying-party.repository.js';
import type { PresentationRequestEntity, RelyingPartyEntity } from './relying-party.entity.js';

const REQUEST_TTL_SECONDS = 300;

export const registerRelyingPartySchema = z.object({
  name: z.string().trim().min(1).max(200),
  purpose: z.string().trim().min(1).max(500),
  allowedClaims: z
    .record(z.string(), z.array(z.string().min(1)).min(1))
    .describe('catalogue type id → claim names it may ask for'),
  clientIdPrefix: z.enum(['redirect_uri', 'decentralized_identifier', 'x509_san_dns']).default('decentralized_identifier'),
  webhookUrl: z.url().optional(),
});

export const createRequestSchema = z.object({
  dcql_query: z.record(z.string(), z.unknown()),
  response_mode: z.enum(['direct_post', 'direct_post.jwt']).default('direct_post.jwt'),
  /** Same-device flow: where the wallet sends the citizen back after answering. */
  redirect_uri: z.url().optional(),
});

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
export class PresentationService {
  private readonly logger = new Logger('PresentationService');
  private readonly base: string;
  private readonly openid4vp: Openid4vpVerifier;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly parties: RelyingPartyRepository,
    private readonly verifier: VerifierService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = publicBaseUrl(config);
    allowHttpOutsideProduction(this.base, config.env);
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

  async authenticate(token: string | undefined): Promise<RelyingPartyEntity> {
    const parsed = token ? parseApiKey(token, 'rpk') : undefined;
    const party = parsed ? await this.parties.byKeyPrefix(parsed.prefix) : null;
    if (!parsed || !party || !secretsEqual(sha256Hex(parsed.secret), party.apiKeyHash)) {
      throw unauthorized('A valid relying party API key is required');
    }
    return party;
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
    await this.parties.insertRequest({
      id,
      relyingPartyId: party.id,
      clientId,
      requestPayload: JSON.stringify({
        authorizationRequest: payload,
        link: created.authorizationRequest,
        returnUri: input.redirect_uri,
      }),
      requestObject,
      stateHash: sha256Hex(state),
      encryptionKeySealed: encryption?.sealed ?? null,
      status: 'pending',
      result: null,
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
    return request.requestObject;
  }

  /** The wallet's direct_post / direct_post.jwt response: verified, bound to its request, accepted once. */
  async handleResponse(body: unknown): Promise<{ redirect_uri?: string }> {
    const form = (body ?? {}) as Record<string, unknown>;
    const request = await this.findRequest(form);
    if (request.status !== 'pending')
      throw new OAuthError(400, 'invalid_request', 'This presentation request was already answered');
    if (request.expiresAt <= new Date()) throw new OAuthError(400, 'invalid_request', 'This presentation request has expired');
    const { authorizationRequest: authorizationRequestPayload, returnUri } = this.stored(request);

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
      } catch (error) {
        throw new OAuthError(400, 'invalid_request', (error as Error).message.split('\n')[0]);
      }
      if (
        parsed.authorizationResponsePayload.state !== undefined &&
        sha256Hex(String(parsed.authorizationResponsePayload.state)) !== request.stateHash
      ) {
        throw new OAuthError(400, 'invalid_request', 'state does not match the request');
      }
      if (parsed.type !== 'dcql') throw new OAuthError(400, 'invalid_request', 'Only DCQL responses are accepted');
      verdict = await this.verifyPresentations(request, parsed.dcql.presentations as Record<string, unknown>);
    }
    // Same-device: a fresh response_code travels with the browser redirect; the party must show it to read
    // the verdict, so a verdict cannot be fixed onto another person's session (OID4VP 1.0 §13.3).
    const responseCode = returnUri ? randomToken(24) : undefined;
    const stored = responseCode ? { ...verdict, responseCodeHash: sha256Hex(responseCode) } : verdict;
    if (!(await this.parties.complete(request.id, verdict.verified ? 'verified' : 'rejected', stored))) {
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

  /** The desk page polls with its view token (no API key in the browser). */
  async resultForView(id: string, viewToken: unknown) {
    const request = await this.requestForView(id, viewToken);
    // The view token is itself the desk's proof of being the session that asked.
    return this.statusOf(request, undefined, true);
  }

  /** What the desk page shows: the party, the QR code of the link. */
  async deskView(id: string, viewToken: unknown) {
    const request = await this.requestForView(id, viewToken);
    const party = (await this.parties.byId(request.relyingPartyId))!;
    const { link } = this.stored(request);
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

  private stored(request: PresentationRequestEntity) {
    return JSON.parse(request.requestPayload) as {
      authorizationRequest: { nonce: string; dcql_query: unknown } & Record<string, unknown>;
      link: string;
      returnUri?: string;
    };
  }

  private statusOf(request: PresentationRequestEntity, responseCode?: unknown, viewer = false) {
    const expired = request.status === 'pending' && request.expiresAt <= new Date();
    const { responseCodeHash, ...verdict } = request.result
      ? (JSON.parse(request.result) as Verdict & { responseCodeHash?: string })
      : {};
    const released =
      viewer ||
      !responseCodeHash ||
      (typeof responseCode === 'string' && secretsEqual(sha256Hex(responseCode), responseCodeHash));
    return {
      id: request.id,
      status: expired ? 'expired' : request.status,
      ...(request.result && released ? { result: verdict as Verdict } : {}),
      ...(request.result && !released ? { responseCodeRequired: true } : {}),
      completedAt: request.completedAt,
    };
  }

  private async verifyPresentations(
    request: PresentationRequestEntity,
    presentations: Record<string, unknown>,
  ): Promise<Verdict> {
    const payload = this.stored(request).authorizationRequest;
    const { requested } = analyseDcqlQuery(payload.dcql_query, this.catalogue);
    const credentials: Verdict['credentials'] = [];
    const reasons: string[] = [];
    for (const wanted of requested) {
      const entry = presentations[wanted.queryId];
      const list = Array.isArray(entry) ? entry : entry === undefined ? [] : [entry];
      const presentation = list[0];
      if (typeof presentation !== 'string') {
        reasons.push(`${wanted.queryId}: no presentation`);
        credentials.push({ queryId: wanted.queryId });
        continue;
      }
      const result = await this.verifier.verifyPresentation(presentation, { nonce: payload.nonce, audience: request.clientId });
      const verified = result.credentials[0];
      // An SD-JWT presentation reports its checks once, as the presentation's and the credential's.
      const failed = [...new Set([...result.checks, ...(verified?.checks ?? [])])].filter((check) => !check.passed);
      const credential = verified?.credential;
      if (failed.length) reasons.push(...failed.map((check) => `${wanted.queryId}: ${check.check}: ${check.reason ?? 'failed'}`));
      if (credential && credential.type !== wanted.typeId)
        reasons.push(`${wanted.queryId}: a ${credential.type} was presented, ${wanted.typeId} was asked for`);
      const disclosed = credential?.claims ?? {};
      const missing = wanted.claims.filter((claim) => !(claim in disclosed));
      if (credential && missing.length) reasons.push(`${wanted.queryId}: claims not disclosed: ${missing.join(', ')}`);
      // Only what was asked for is kept, whatever else the wallet disclosed.
      const claims = Object.fromEntries(
        wanted.claims.filter((claim) => claim in disclosed).map((claim) => [claim, disclosed[claim]]),
      );
      credentials.push({
        queryId: wanted.queryId,
        type: credential?.type,
        issuer: credential?.issuer,
        claims,
        checks: verified?.checks ?? result.checks,
      });
    }
    return reasons.length ? { verified: false, reason: reasons.join('; '), credentials } : { verified: true, credentials };
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
      await fetch(party.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-chancery-timestamp': timestamp,
          'x-chancery-signature': `v1=${signature}`,
        },
        body,
        signal: AbortSignal.timeout(5_000),
      });
    } catch (error) {
      this.logger.warn({ presentationRequestId: request.id, reason: (error as Error).message }, 'webhook delivery failed');
    }
  }
}
