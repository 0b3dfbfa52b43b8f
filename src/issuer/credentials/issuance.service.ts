import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { badRequest, parseOrThrow, ProblemError } from '../../common/index.js';
import { KeyService } from '../../keys/index.js';
import {
  Catalogue,
  CREDENTIAL_FORMATS,
  didJwk,
  holderPublicJwk,
  InvalidHolderKey,
  issueSdJwt,
  jwkFromDidJwk,
  jwkThumbprint,
  jwtVcPayload,
  signJws,
  type CredentialFormat,
  type DataModel,
  type LicenceType,
} from '../../credentials/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { IndexTaken, StatusService, type StatusAllocation } from '../../status/index.js';
import { Database, type Tx } from '../../persistence/index.js';
import { AuditLog } from '../../audit/index.js';
import { AuthorisationService } from './authorisation.service.js';
import { CredentialRepository } from './credential.repository.js';
import type { JsonWebKey } from 'node:crypto';

/**
 * A holder key as the metadata advertises it (HOLDER_KEY_ALGORITHMS: ES256, P-256): refused with private
 * members or another curve, and reduced to its public members, the only ones that reach `cnf`.
 */
const publicJwk = z.unknown().transform((value, context): JsonWebKey => {
  try {
    return holderPublicJwk(value);
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: error instanceof InvalidHolderKey ? error.message : 'must be a public ES256 JWK',
    });
    return z.NEVER;
  }
});

/** W3C VC-API issue request; `options` selects the format and binds a holder key. */
export const issueRequestSchema = z.object({
  credential: z.looseObject({
    type: z.union([z.string(), z.array(z.string()).min(1)]),
    credentialSubject: z.record(z.string(), z.unknown()),
    validFrom: z.iso.datetime({ offset: true }).optional(),
    validUntil: z.iso.datetime({ offset: true }).optional(),
  }),
  options: z
    .object({
      format: z.enum(CREDENTIAL_FORMATS).default('dc+sd-jwt'),
      dataModel: z.enum(['2.0', '1.1']).default('2.0'),
      holderJwk: publicJwk.optional(),
    })
    .prefault({}),
});

export interface IssueOptions {
  typeId: string;
  claims: Record<string, unknown>;
  format: CredentialFormat;
  dataModel?: DataModel;
  holderJwk?: JsonWebKey;
  validFrom?: Date;
  validUntil?: Date;
}

export interface IssuedCredential {
  id: string;
  format: CredentialFormat;
  dataModel?: DataModel;
  /** The compact serialisation: an SD-JWT (`…~`) or a JWS. */
  credential: string;
  typeId: string;
  validFrom: Date;
  validUntil: Date;
}

const CLOCK_SKEW_MS = 5 * 60_000;
/** Index collisions need a concurrent issuance picking the same random index; a few tries are plenty. */
const MAX_INDEX_ATTEMPTS = 5;

/** Issues catalogue credentials for an agency: validate, sign through src/keys, keep only a digest. */
@Injectable()
export class IssuanceService {
  private readonly logger = new Logger('IssuanceService');

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly authorisations: AuthorisationService,
    private readonly repository: CredentialRepository,
    private readonly status: StatusService,
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  /** Maps a VC-API request to issue options (400 listing every problem). */
  fromVcApiRequest(body: unknown): IssueOptions {
    const { credential, options } = parseOrThrow(issueRequestSchema, body);
    const type = this.catalogue.byVcTypes(credential.type);
    if (!type) {
      throw badRequest(
        `credential.type names no catalogue type; known: ${this.catalogue
          .list()
          .map((t) => t.vcType)
          .join(', ')}`,
        [{ path: 'credential.type', message: 'unknown credential type' }],
      );
    }
    const { id: subjectId, ...claims } = credential.credentialSubject;
    let holderJwk = options.holderJwk;
    if (subjectId !== undefined) {
      const fromDid = typeof subjectId === 'string' ? jwkFromDidJwk(subjectId) : undefined;
      if (!fromDid)
        throw badRequest('credentialSubject.id must be the did:jwk of a public ES256 key', [
          { path: 'credential.credentialSubject.id', message: 'not a did:jwk of a public ES256 key' },
        ]);
      if (holderJwk && jwkThumbprint(holderJwk) !== jwkThumbprint(fromDid)) {
        throw badRequest('credentialSubject.id and options.holderJwk name different keys', [
          { path: 'options.holderJwk', message: 'differs from credentialSubject.id' },
        ]);
      }
      holderJwk = fromDid;
    }
    return {
      typeId: type.id,
      claims,
      format: options.format,
      dataModel: options.dataModel,
      holderJwk,
      validFrom: credential.validFrom ? new Date(credential.validFrom) : undefined,
      validUntil: credential.validUntil ? new Date(credential.validUntil) : undefined,
    };
  }

  /**
   * Issues one credential. Signing happens outside any transaction with a status index picked at
   * random; then one transaction writes the index and the credential record (and, when given, the
   * caller's own rows such as its idempotency record). A crash leaves both or neither, an index taken
   * meanwhile by a concurrent issuance means signing again with another, and the credential is handed
   * out only after the commit.
   */
  async issue(
    agency: Agency,
    options: IssueOptions,
    hooks: { inTransaction?(tx: Tx, issued: IssuedCredential): Promise<void> } = {},
  ): Promise<IssuedCredential> {
    const type = this.catalogue.get(options.typeId);
    if (!type) throw badRequest(`Unknown credential type ${options.typeId}`);
    if (!type.formats.includes(options.format)) throw badRequest(`${type.id} is not issued as ${options.format}`);
    const violations = this.catalogue.validateClaims(type.id, options.claims);
    if (violations.length > 0) throw badRequest(`The claims do not match the ${type.id} schema`, violations);
    if (agency.status !== 'active' || !agency.signingKid) {
      throw new ProblemError(
        409,
        'agency_not_active',
        'The agency DID is not anchored yet',
        'Try again once the agency is active',
      );
    }
    await this.authorisations.assertMayIssue(agency.id, type.id);

    const now = Date.now();
    const validFrom = options.validFrom ?? new Date(now);
    if (validFrom.getTime() < now - CLOCK_SKEW_MS)
      throw badRequest('validFrom may not lie in the past', [{ path: 'credential.validFrom', message: 'in the past' }]);
    const latest = validFrom.getTime() + type.validityDays * 86_400_000;
    const validUntil = options.validUntil ?? new Date(latest);
    if (validUntil.getTime() > latest || validUntil <= validFrom) {
      throw badRequest(`validUntil must follow validFrom by at most ${type.validityDays} days`, [
        { path: 'credential.validUntil', message: 'out of range' },
      ]);
    }

    const id = randomUUID();
    const issuer = {
      agencyId: agency.id,
      did: agency.did,
      signingKeyId: agency.signingKeyId,
      signingKid: agency.signingKid,
      controllerKeyId: agency.controllerKeyId,
    };
    const kind = options.format === 'dc+sd-jwt' ? 'token' : 'bitstring';
    let issued: IssuedCredential | undefined;
    for (let attempt = 1; !issued; attempt++) {
      const allocation = await this.status.reserve(issuer, kind);
      const credential = await this.sign(agency, type, options, id, now, validFrom, validUntil, allocation);
      const candidate: IssuedCredential = {
        id,
        format: options.format,
        ...(options.format === 'jwt_vc_json' ? { dataModel: options.dataModel ?? '2.0' } : {}),
        credential,
        typeId: type.id,
        validFrom,
        validUntil,
      };
      try {
        await this.db.transaction(async (tx) => {
          await this.status.commitEntry(tx, allocation, id);
          await this.repository.recordIssued(tx, {
            id,
            agencyId: agency.id,
            typeId: type.id,
            format: options.format,
            dataModel: options.format === 'jwt_vc_json' ? (options.dataModel ?? '2.0') : null,
            digest: createHash('sha256').update(credential).digest('hex'),
            holderThumbprint: options.holderJwk ? jwkThumbprint(options.holderJwk) : null,
            validFrom,
            validUntil,
            issuedAt: new Date(now),
          });
          await hooks.inTransaction?.(tx, candidate);
          await this.audit.append(issuedEvent(agency.id, id, type.id, options.format, credential), tx);
        });
        issued = candidate;
      } catch (error) {
        // Another issuance wrote the same index between our pick and our commit: sign again with another.
        if (!(error instanceof IndexTaken) || attempt >= MAX_INDEX_ATTEMPTS) throw error;
      }
    }
    this.logger.log({ agencyId: agency.id, credentialId: id, typeId: type.id, format: options.format }, 'credential issued');
    return issued;
  }

  private async sign(
    agency: Agency,
    type: LicenceType,
    options: IssueOptions,
    id: string,
    now: number,
    validFrom: Date,
    validUntil: Date,
    allocation: StatusAllocation,
  ): Promise<string> {
    const sign = (input: Uint8Array) => this.keys.signJws(agency.signingKeyId, input);
    const header = { alg: 'ES256', kid: agency.signingKid! };
    if (options.format === 'dc+sd-jwt') {
      const disclosable: Record<string, unknown> = {};
      const plain: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(options.claims)) {
        (type.selectivelyDisclosable.includes(name) ? disclosable : plain)[name] = value;
      }
      return issueSdJwt({
        header: { ...header, typ: 'dc+sd-jwt' },
        payload: {
          iss: agency.did,
          vct: type.vct,
          iat: Math.floor(now / 1000),
          nbf: Math.floor(validFrom.getTime() / 1000),
          exp: Math.floor(validUntil.getTime() / 1000),
          ...(options.holderJwk ? { cnf: { jwk: options.holderJwk } } : {}),
          status: allocation.sdJwtStatus,
          ...plain,
        },
        disclosable,
        // Decoys hide how many claims a type has; a varying count hides which type it is.
        decoys: randomInt(2, 6),
        sign,
      });
    }
    const built = jwtVcPayload(options.dataModel ?? '2.0', {
      id: `urn:uuid:${id}`,
      issuer: agency.did,
      vcType: type.vcType,
      validFrom,
      validUntil,
      subjectId: options.holderJwk ? didJwk(options.holderJwk) : undefined,
      claims: options.claims,
      status: allocation.credentialStatus,
    });
    return signJws({ ...header, ...built.header }, built.payload, sign);
  }
}

/** The audit entry of an issuance: the credential's SHA-256 digest and metadata, never its claims. */
const issuedEvent = (agencyId: string, id: string, typeId: string, format: string, credential: string) => ({
  kind: 'credential.issued' as const,
  actor: `agency:${agencyId}`,
  subject: `credential:${id}`,
  data: { type: typeId, format, digest: createHash('sha256').update(credential).digest('hex') },
});
