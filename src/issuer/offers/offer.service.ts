import { Injectable, Logger } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import { z } from 'zod';
import { badRequest, notFound, parseOrThrow, randomToken, secretsEqual, sha256Hex } from '../../common/index.js';
import { HmacKeys, KeyService } from '../../keys/index.js';
import { Catalogue, CREDENTIAL_FORMATS, credentialTypeRetired } from '../../credentials/index.js';
import { oauthError } from '../../oauth/index.js';
import { configurationId, OID4VCI_ENDPOINTS, offerCodeHash, offerGrants } from '../../oid4vci/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import type { CredentialOfferEntity } from './offer.entity.js';
import { OfferRepository } from './offer.repository.js';
import { Database } from '../../persistence/index.js';
import { AuditLog } from '../../audit/index.js';
import type { IdempotentRequestScope } from '../idempotency.js';

/** The HMAC key of credential_offer_uri references (see offerReference). */
const OFFER_REFERENCE_KEY = 'offer-reference';

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

/** An offer ready to be stored (see OfferService.prepareOffer). */
export interface PreparedOffer {
  entity: CredentialOfferEntity;
  credentialOffer: string;
  credentialOfferUri?: string;
  txCode?: string;
  loginCode?: string;
}

/**
 * The officer's side of OID4VCI: credential offers to citizens (by value or by reference, with QR codes
 * and the PIN or login code to hand over out of band), and approval of applications whose issuance waits.
 */
@Injectable()
export class OfferService {
  private readonly logger = new Logger('OfferService');

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly offers: OfferRepository,
    private readonly protocol: Oid4vciProtocol,
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly hmacKeys: HmacKeys,
  ) {}

  /**
   * An officer offers a credential to a citizen: deep link, QR codes, and the PIN to hand over separately.
   * The answer (the only copy of the code and PIN) is made first and, with an Idempotency-Key, stored in the
   * offer's transaction: a retry gets this offer back, never a second one.
   */
  async createOffer(agency: Agency, body: unknown, idempotency?: IdempotentRequestScope) {
    const prepared = await this.prepareOffer(agency, body);
    const answer = await this.offerCreated(agency, prepared);
    await this.db.transaction(async (tx) => {
      await this.offers.insert(prepared.entity, tx);
      await idempotency?.complete(tx, answer);
    });
    return answer;
  }

  /**
   * An offer checked, sealed and built but not stored: the caller inserts `entity` in its own transaction
   * (a joint-approval application stores it with the application and the chain write, so neither exists
   * without the other), then hands `prepared` to offerCreated for the answer.
   */
  async prepareOffer(agency: Agency, body: unknown, options: { id?: string } = {}): Promise<PreparedOffer> {
    const input = parseOrThrow(createOfferSchema, body);
    const type = this.catalogue.get(input.type);
    if (!type) throw badRequest(`Unknown credential type ${input.type}`, [{ path: 'type', message: 'unknown credential type' }]);
    if (type.status === 'retired') throw credentialTypeRetired(type.id);
    const unsupported = input.formats.filter((format) => !type.formats.includes(format));
    if (unsupported.length) throw badRequest(`${type.id} is not issued as ${unsupported.join(', ')}`);
    const violations = this.catalogue.validateClaims(type.id, input.claims);
    if (violations.length) throw badRequest(`The claims do not match the ${type.id} schema`, violations);

    const now = new Date();
    const id = options.id ?? randomUUID();
    const grantSecret = randomToken(32);
    const authorizationCodeFlow = input.flow === 'authorization_code';
    // The PIN (pre-authorized) or the login code (authorization code flow) goes to the citizen out of band.
    const txCode = input.txCode || authorizationCodeFlow ? String(randomInt(0, 1_000_000)).padStart(6, '0') : undefined;
    const configurationIds = [...new Set(input.formats)].map((format) => configurationId(type.id, format));
    const expiresAt = new Date(now.getTime() + input.expiresInSeconds * 1000);
    const offerUri = `${this.protocol.base}${OID4VCI_ENDPOINTS.offers}/${await this.offerReference(id)}`;
    const { credentialOffer, credentialOfferObject } = await this.protocol.issuer.createCredentialOffer({
      issuerMetadata: this.protocol.issuerMetadata(),
      credentialConfigurationIds: configurationIds,
      grants: offerGrants(input.flow, grantSecret, txCode) as never,
      ...(input.byReference ? { credentialOfferUri: offerUri } : {}),
    });
    const entity: CredentialOfferEntity = {
      id,
      agencyId: agency.id,
      typeId: type.id,
      configurationIds,
      issuedConfigurations: [],
      claimsSealed: await this.keys.sealJson(input.claims, `offer:${id}`),
      offerSealed: input.byReference ? await this.keys.sealJson(credentialOfferObject, `offer-object:${id}`) : null,
      flow: input.flow,
      approval: input.requiresApproval ? 'pending' : null,
      preAuthCodeHash: sha256Hex(grantSecret),
      txCodeHash: txCode ? offerCodeHash(id, txCode) : null,
      txCodeFailures: 0,
      status: 'offered',
      expiresAt,
      createdAt: now,
    };
    return {
      entity,
      credentialOffer,
      ...(input.byReference ? { credentialOfferUri: offerUri } : {}),
      ...(authorizationCodeFlow ? { loginCode: txCode } : { txCode }),
    };
  }

  /** The answer for an offer that is now stored: links, codes and QR codes. */
  async offerCreated(agency: Agency, prepared: PreparedOffer) {
    const { entity, credentialOffer } = prepared;
    this.logger.log({ agencyId: agency.id, offerId: entity.id, typeId: entity.typeId }, 'credential offer created');
    return {
      offerId: entity.id,
      credentialOffer,
      ...(prepared.credentialOfferUri ? { credentialOfferUri: prepared.credentialOfferUri } : {}),
      ...(entity.flow === 'authorization_code' ? { loginCode: prepared.loginCode } : { txCode: prepared.txCode }),
      expiresAt: entity.expiresAt,
      qr: {
        png: await QRCode.toDataURL(credentialOffer, { errorCorrectionLevel: 'M', margin: 2, width: 360 }),
        svg: await QRCode.toString(credentialOffer, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
      },
    };
  }

  /**
   * The last segment of an offer's credential_offer_uri: its id and a MAC of it. The id alone is in logs, the
   * audit trail and the agency's answers; the reference is the bearer of the pre-authorized code, so it must be
   * more than the id.
   */
  private async offerReference(id: string): Promise<string> {
    return `${id}.${(await this.hmacKeys.hmacSha256(OFFER_REFERENCE_KEY, `offer:${id}`)).toString('base64url')}`;
  }

  /** The credential_offer_uri target: the offer object, kept sealed because it holds the pre-authorized code. */
  async offerByReference(reference: string): Promise<unknown> {
    const id = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(reference)?.[1];
    const expected = id === undefined ? undefined : await this.offerReference(id);
    const offer = expected !== undefined && secretsEqual(reference, expected) ? await this.offers.byId(id!) : null;
    if (!offer?.offerSealed || offer.status !== 'offered' || offer.expiresAt <= new Date()) {
      throw oauthError(404, 'invalid_request', 'No such credential offer, or it expired');
    }
    return this.keys.openJson(offer.offerSealed, `offer-object:${offer.id}`);
  }

  /**
   * An officer approves an application; deferred requests can then be completed by the wallet. The approval
   * and its audit entry commit together.
   */
  async approve(agency: Agency, offerId: string, actor: string): Promise<{ approved: true }> {
    await this.db.transaction(async (tx) => {
      if (!(await this.offers.approve(offerId, agency.id, tx)))
        throw notFound(`No offer ${offerId} of this agency awaiting approval`);
      await this.audit.append({ kind: 'offer.approved', actor, subject: `offer:${offerId}`, data: { agencyId: agency.id } }, tx);
    });
    this.logger.log({ agencyId: agency.id, offerId }, 'application approved');
    return { approved: true };
  }
}
