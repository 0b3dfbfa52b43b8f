import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import type { Jwk } from '@openid4vc/oauth2';
import { badRequest, OAuthError, parseOrThrow, ProblemError, randomToken, sha256Hex } from '../../common/index.js';
import { ChainBootstrap, ChainClient, DataSharingPermissions } from '../../chain/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { Catalogue, p256HexToJwk, signJws } from '../../credentials/index.js';
import { KeyService } from '../../keys/index.js';
import {
  analyseDcqlQuery,
  authorizationRequestPayload,
  claimsBeyondRegistration,
  dataSharingVerifierInfo,
  dataSharingViolations,
  DcqlProblem,
  isSharedClientId,
  permissionIdsOf,
  shownPurpose,
  type PermissionCheck,
  type RequestedCredential,
  REQUEST_TTL_SECONDS,
  requestExpiresAt,
  requestObjectSigner,
  REQUEST_OBJECT_AUDIENCE,
  withoutSharedGrant,
} from '../../oid4vp/index.js';
import { oid4vpEndpoints, type Oid4vpEndpoints } from '../endpoints.js';
import type { RelyingPartyEntity } from '../relying-parties/relying-party.entity.js';
import { RelyingPartyService } from '../relying-parties/relying-party.service.js';
import { openid4vpVerifier } from './openid4vp-library.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';
import { PresentationSeals } from './presentation-seals.js';
import { createRequestSchema } from './presentation.schemas.js';

/** A DCQL query the relying party may ask, or a 400 problem naming every reason it may not. */
function requestedWithinRegistration(dcqlQuery: unknown, party: RelyingPartyEntity, catalogue: Catalogue) {
  let analysed: ReturnType<typeof analyseDcqlQuery>;
  try {
    analysed = analyseDcqlQuery(dcqlQuery, catalogue);
  } catch (error) {
    if (error instanceof DcqlProblem) throw badRequest(error.message, error.violations);
    throw error;
  }
  const beyond = claimsBeyondRegistration(analysed.requested, party.allowedClaims);
  if (beyond.length) throw badRequest(`The request asks for claims beyond what ${party.name} is registered for`, beyond);
  return analysed;
}

/** The consortium's answer for every credential query of a request (cached; evicted by registry events). */
export async function permissionChecks(
  permissions: DataSharingPermissions,
  clientId: string,
  requested: RequestedCredential[],
  fresh = false,
): Promise<PermissionCheck[]> {
  return Promise.all(
    requested.map(async ({ queryId, typeId, claims }) => {
      const answer = fresh
        ? await permissions.isPermittedOnChain(clientId, typeId, claims)
        : await permissions.isPermitted(clientId, typeId, claims);
      const check = { queryId, typeId, ...answer };
      return isSharedClientId(clientId) ? withoutSharedGrant(check) : check;
    }),
  );
}

/** A 403 problem naming every credential query the consortium does not permit. */
export const notPermitted = (partyName: string, violations: ReturnType<typeof dataSharingViolations>) =>
  new ProblemError(
    403,
    'data_sharing_not_permitted',
    'Not permitted by the consortium',
    `The request goes beyond the data-sharing permissions the consortium granted ${partyName}`,
    { violations },
  );

/**
 * Presentation requests: a relying party's DCQL query, limited to its registration, becomes an OID4VP
 * authorization request (link + QR, request object signed with the party's key and served by request_uri).
 */
@Injectable()
export class PresentationRequestService {
  private readonly endpoints: Oid4vpEndpoints;
  private readonly dataSharingEnforced: boolean;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly parties: RelyingPartyService,
    private readonly requests: PresentationRequestRepository,
    private readonly seals: PresentationSeals,
    private readonly permissions: DataSharingPermissions,
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.endpoints = oid4vpEndpoints(config);
    this.dataSharingEnforced = config.chain.consortium.dataSharingEnforced;
  }

  /** A relying party asks for claims with DCQL; refused beyond its registration (data minimisation). */
  /**
   * `purpose` replaces the party's registered purpose for this one request (the wallet shows it, the
   * holder's records keep it); only the service's own callers set it, never a relying party's request body.
   */
  async create(party: RelyingPartyEntity, body: unknown, purpose?: string) {
    const input = parseOrThrow(createRequestSchema, body);
    const { query, requested } = requestedWithinRegistration(input.dcql_query, party, this.catalogue);
    const clientId = await this.parties.clientId(party);
    // 授权用证: the consortium's data-sharing registry must permit this client these claims (ADR 15).
    const checks = await permissionChecks(this.permissions, clientId, requested);
    const refused = dataSharingViolations(checks, requested, this.dataSharingEnforced);
    if (refused.length) throw notPermitted(party.name, refused);
    const now = new Date();
    const id = randomUUID();
    const state = randomToken(24);
    const nonce = randomToken(24);
    const viewToken = randomToken(24);
    const signing = await this.keys.getKey(party.signingKeyId);
    const encryption = input.response_mode === 'direct_post.jwt' ? await this.seals.responseKey(id) : undefined;
    const payload = authorizationRequestPayload({
      clientId,
      nonce,
      state,
      responseMode: input.response_mode,
      responseUri: this.endpoints.responseUri,
      dcqlQuery: query,
      party: { name: party.name, purpose: shownPurpose(checks, purpose ?? party.purpose) },
      verifierInfo: dataSharingVerifierInfo(checks, {
        chainId: this.chain.chainId,
        address: this.bootstrap.consortium.dataSharing,
      }),
      ...(encryption ? { encryptionJwk: encryption.publicJwk } : {}),
    });
    const library = openid4vpVerifier({
      sign: (header, claims) => signJws(header, claims, (signingInput) => this.keys.signJws(party.signingKeyId, signingInput)),
      signerJwk: p256HexToJwk(signing.publicKeyHex) as Jwk,
    });
    const jwtSigner = requestObjectSigner(party.clientIdPrefix, clientId, party.certificate);
    // The redirect_uri prefix forbids signed requests: everything travels by value in the link.
    const created = await library.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: payload as never,
      scheme: 'openid4vp://',
      ...(jwtSigner
        ? {
            jar: {
              requestUri: this.endpoints.requestUri(id),
              expiresInSeconds: REQUEST_TTL_SECONDS,
              jwtSigner,
              // RFC 9101 §4: a signed request object SHOULD carry iss (the client_id) and aud. Not for a DID-signed one:
              // wallets (and @openid4vc) read an iss beside a DID kid as the DID itself, which the prefixed client_id is not.
              additionalJwtPayload: {
                ...(jwtSigner.method === 'x5c' ? { iss: clientId } : {}),
                aud: REQUEST_OBJECT_AUDIENCE,
              },
            },
          }
        : {}),
    });
    // The library returns the signed request object next to the link; we serve it at request_uri.
    const requestObject = (created.jar as { authorizationRequestJwt?: string } | undefined)?.authorizationRequestJwt;
    const link = created.authorizationRequest;
    // Made before the request is stored: a link too long for a QR code (a redirect_uri party's whole DCQL query
    // travels in it) is the caller's 400, not a 500 after a stored request.
    const qr = await qrCodesOf(link);
    const expiresAt = requestExpiresAt(now);
    // Nothing that carries the nonce or state is stored in clear: the payload, the link and the request
    // object are sealed; state and nonce are also kept as hashes.
    await this.requests.insert({
      id,
      relyingPartyId: party.id,
      clientId,
      requestPayload: await this.seals.sealRequest(id, { authorizationRequest: payload, link, returnUri: input.redirect_uri }),
      requestObject: requestObject ? await this.seals.sealRequestObject(id, requestObject) : null,
      stateHash: sha256Hex(state),
      nonceHash: sha256Hex(nonce),
      encryptionKeySealed: encryption?.sealed ?? null,
      status: 'pending',
      result: null,
      purgeAt: null,
      purgedAt: null,
      viewTokenHash: sha256Hex(viewToken),
      expiresAt,
      createdAt: now,
      completedAt: null,
      dataSharingPermissions: permissionIdsOf(checks).join(',') || null,
      purpose: purpose?.slice(0, 500) ?? null,
    });
    return {
      id,
      link,
      clientId,
      expiresAt,
      deskUrl: this.endpoints.deskUrl(id, viewToken),
      viewToken,
      dataSharing: checks
        .filter((check) => check.verdict === 'Permitted' && check.permissionId)
        .map(({ queryId, permissionId, purpose }) => ({ queryId, permissionId: permissionId!, purpose: purpose! })),
      qr,
    };
  }

  /** The request object behind request_uri (JAR, typ oauth-authz-req+jwt), while the request is open. */
  async requestObject(id: string): Promise<string> {
    const request = await this.requests.byId(id);
    if (!request?.requestObject || request.status !== 'pending' || request.expiresAt <= new Date()) {
      throw new OAuthError(404, 'invalid_request_uri', 'No such presentation request, or it expired or was answered');
    }
    return this.seals.openRequestObject(request.id, request.requestObject);
  }
}

/** The QR codes of a request link, or a 400 when the link is longer than a QR code holds. */
async function qrCodesOf(link: string): Promise<{ png: string; svg: string }> {
  try {
    return {
      png: await QRCode.toDataURL(link, { errorCorrectionLevel: 'L', margin: 2, width: 360 }),
      svg: await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }),
    };
  } catch {
    throw badRequest(
      `The request link (${link.length} characters) is too long for a QR code: ask for fewer claims, or register with a client identifier prefix whose requests are signed and fetched by request_uri`,
    );
  }
}
