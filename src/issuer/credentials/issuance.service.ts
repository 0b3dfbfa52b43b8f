import { Injectable, Logger } from '@nestjs/common';
import { hash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { badRequest, merged, parseOrThrow, ProblemError, type Violation } from '../../common/index.js';
import { KeyService } from '../../keys/index.js';
import {
  buildCredentialDocument,
  Catalogue,
  CATALOGUE_FORMATS,
  GENERIC_VC_TYPE,
  checkIssueInput,
  createDocumentLoader,
  DocumentNotLoadable,
  holderJwkOfSubject,
  secureWithEcdsaRdfc2019,
  vcJwtPayload,
  vcJwt11Payload,
  type CatalogueFormat,
  credentialTypeRetired,
  didJwk,
  didKeyOf,
  issuerIdOf,
  jsonLdTypeProblem,
  holderPublicJwk,
  InvalidHolderKey,
  issueSdJwt,
  jwkThumbprint,
  jwtVcPayload,
  RESERVED_CLAIM_NAMES,
  signJws,
  VALIDITY_MEMBERS,
  type DataModel,
  type LicenceType,
} from '../../credentials/index.js';
import type { Agency } from '../agencies/agency.repository.js';
import { StatusService, type StatusAllocation } from '../../status/index.js';
import { Database, GroupCommit, timeOrderedId, type GroupWrite, type Tx } from '../../persistence/index.js';
import type { IssuedCredentialEntity } from './credential.entity.js';
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

/** Contexts are bundled, never fetched; issuing resolves no DID. */
const BUNDLED_CONTEXTS_ONLY = createDocumentLoader(async () => undefined);

/** What VC-API `options` may ask for Data Integrity with (VC-API and the W3C suites' issuer settings). */
const DATA_INTEGRITY_OPTIONS = { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' } as const;

/**
 * W3C VC-API issue request. The credential itself is checked by checkIssueInput (src/credentials), which
 * lists every VCDM 2.0 and catalogue violation; `options` selects the format and binds a holder key.
 * Without `format`, a type's first format is used (dc+sd-jwt when it has it); `type: DataIntegrityProof`
 * or `cryptosuite: ecdsa-rdfc-2019` ask for `ldp_vc`.
 */
export const issueRequestSchema = z.object({
  credential: z.record(z.string(), z.unknown()),
  options: z
    .looseObject({
      format: z.enum(CATALOGUE_FORMATS).optional(),
      type: z.literal(DATA_INTEGRITY_OPTIONS.type).optional(),
      cryptosuite: z.literal(DATA_INTEGRITY_OPTIONS.cryptosuite).optional(),
      // A document's own model is its first context's; this asks for the shorthand's (2.0 when not given).
      dataModel: z.enum(['2.0', '1.1']).optional(),
      holderJwk: publicJwk.optional(),
    })
    .prefault({}),
});

export interface IssueOptions {
  typeId: string;
  claims: Record<string, unknown>;
  format: CatalogueFormat;
  dataModel?: DataModel;
  holderJwk?: JsonWebKey;
  validFrom?: Date;
  validUntil?: Date;
  /** VC-API: the checked VCDM document (2.0 or 1.1, as `dataModel` says), secured as submitted (jwt_vc_json and ldp_vc). */
  document?: Record<string, unknown>;
  /**
   * ldp_vc whose issuer is the agency's did:key (ADR 40): the proof names that key, and its status lists are
   * the did:key's own (a status list's issuer is the credential's).
   */
  didKeyIssuer?: { did: string; verificationMethod: string };
}

export interface IssuedCredential {
  id: string;
  format: CatalogueFormat;
  dataModel?: DataModel;
  /** The compact serialisation: an SD-JWT (`…~`) or a JWS; for ldp_vc the JSON of the secured document. */
  credential: string;
  typeId: string;
  validFrom: Date;
  validUntil: Date;
}

/** What one caller's issuance writes: each credential's status entry and record, and the caller's own rows. */
interface IssuanceWrite {
  credentials: { allocation: StatusAllocation; record: IssuedCredentialEntity }[];
  inTransaction?: (tx: Tx) => Promise<void>;
}

/** Issues catalogue credentials for an agency: validate, sign through src/keys, keep only a digest. */
@Injectable()
export class IssuanceService {
  private readonly logger = new Logger('IssuanceService');
  private readonly writes: GroupCommit<IssuanceWrite>;

  /** Group commit counters: transactions and the issuances they held. */
  get groupCommitStats(): { groups: number; jobs: number } {
    return { ...this.writes.stats };
  }

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly authorisations: AuthorisationService,
    private readonly repository: CredentialRepository,
    private readonly status: StatusService,
    db: Database,
    private readonly audit: AuditLog,
  ) {
    this.writes = new GroupCommit(db, (jobs) => this.writeGroup(jobs));
  }

  /**
   * One group commit: the status entries, the credential records and the audit entries as statements
   * (on PostgreSQL without callers' hooks: one statement, one round trip), then each caller's own rows.
   */
  private writeGroup(jobs: IssuanceWrite[]): GroupWrite {
    const credentials = jobs.flatMap((job) => job.credentials);
    const audit = this.audit.groupAppend(credentials.map(({ record }) => issuedEvent(record)));
    const hooks = jobs.flatMap((job) => (job.inTransaction ? [job.inTransaction] : []));
    const statements = [
      this.status.entriesStatement(credentials.map(({ allocation, record }) => ({ allocation, credentialId: record.id }))),
      this.repository.issuedStatement(credentials.map(({ record }) => record)),
      ...audit.statements,
    ];
    if (hooks.length === 0 && !audit.inTransaction) return { statements };
    return {
      statements,
      inTransaction: async (tx) => {
        for (const hook of hooks) await hook(tx);
        // SQLite: the audit chain's head moves last, once for the whole group, in the same commit.
        await audit.inTransaction?.(tx);
      },
    };
  }

  /** Maps a VC-API request to issue options (400 listing every violation, with its path and rule code). */
  async fromVcApiRequest(agency: Agency, body: unknown): Promise<IssueOptions> {
    const { credential, options } = parseOrThrow(issueRequestSchema, body);
    const named = issuerIdOf(credential['issuer']);
    // The agency's did:key is looked up only when a did:key is named (ADR 40).
    const didKey =
      typeof named === 'string' && named.startsWith('did:key:') && agency.signingKeyId ? await this.didKeyOf(agency) : undefined;
    const byDidKey = didKey !== undefined && named === didKey.did;
    const asked = options.format ?? (options.type || options.cryptosuite || byDidKey ? 'ldp_vc' : undefined);
    const { input, violations } = checkIssueInput(credential, {
      agencyDid: agency.did,
      agencyDidKey: didKey?.did,
      catalogue: this.catalogue,
      format: asked,
      dataModel: options.dataModel,
    });
    if (!input) throw badRequest(`The credential cannot be issued: ${violations.length} violation(s)`, violations);
    const format = input.format;
    let holderJwk = options.holderJwk;
    const fromDid = holderJwkOfSubject(input.subjectId);
    if (fromDid && holderJwk && jwkThumbprint(holderJwk) !== jwkThumbprint(fromDid)) {
      throw badRequest('credentialSubject.id and options.holderJwk name different keys', [
        { path: 'options.holderJwk', message: 'differs from credentialSubject.id' },
      ]);
    }
    holderJwk ??= fromDid;
    if (format === 'jwt_vc_json' && !input.shorthand) {
      // A document secured as submitted without canonicalisation: JSON-LD's own rules are checked here (Data
      // Integrity's canonicalisation checks them for ldp_vc). Not the back offices' shorthand, completed by us.
      const problem = await jsonLdTypeProblem(input.document, BUNDLED_CONTEXTS_ONLY);
      if (problem)
        throw badRequest('The credential cannot be issued: 1 violation(s)', [
          { path: 'credential', code: 'jsonld.invalid', message: problem } as Violation,
        ]);
    }
    const date = (member: string) => (typeof input.document[member] === 'string' ? new Date(input.document[member]) : undefined);
    const { from, until } = VALIDITY_MEMBERS[input.dataModel];
    return {
      typeId: input.type.id,
      claims: input.subjects[0]!,
      format,
      dataModel: input.dataModel,
      holderJwk,
      validFrom: date(from),
      validUntil: date(until),
      document: input.document,
      ...(byDidKey ? { didKeyIssuer: didKey } : {}),
    };
  }

  /** The did:key of the agency's signing key, and its verification method. */
  private async didKeyOf(agency: Agency): Promise<{ did: string; verificationMethod: string }> {
    return didKeyOf((await this.keys.getKey(agency.signingKeyId)).publicJwk as JsonWebKey);
  }

  /**
   * Issues one credential. Signing happens outside any transaction with a status index from a block
   * this process reserved; then a group commit writes the index and the credential record (and, when
   * given, the caller's own rows such as its idempotency record) in one transaction shared with the
   * concurrent issuances. A crash leaves both or neither, and the credential is handed out only after
   * the commit.
   */
  async issue(
    agency: Agency,
    options: IssueOptions,
    hooks: { inTransaction?(tx: Tx, issued: IssuedCredential): Promise<void> } = {},
  ): Promise<IssuedCredential> {
    const { inTransaction } = hooks;
    const [issued] = await this.issueAll(agency, [options], inTransaction && ((tx, [one]) => inTransaction(tx, one!)));
    return issued!;
  }

  /**
   * Issues several credentials (an OID4VCI batch: one per holder key) as one: every input is checked before
   * anything is signed, and all records, status entries and `inTransaction`'s rows commit in one transaction
   * or none do.
   */
  async issueAll(
    agency: Agency,
    batch: IssueOptions[],
    inTransaction?: (tx: Tx, issued: IssuedCredential[]) => Promise<void>,
  ): Promise<IssuedCredential[]> {
    if (batch.length === 0) throw new Error('issueAll needs at least one credential');
    const types = batch.map((options) => this.checkedType(agency, options));
    for (const type of new Set(types)) await this.authorisations.assertMayIssue(agency.id, type.id);
    const now = Date.now();
    const dates = batch.map((options, i) => this.validity(options, types[i]!, now));
    const issuer = {
      agencyId: agency.id,
      did: agency.did,
      signingKeyId: agency.signingKeyId,
      signingKid: agency.signingKid!, // checkedType: an active agency has one
      controllerKeyId: agency.controllerKeyId,
    };
    const issued: IssuedCredential[] = [];
    const credentials: IssuanceWrite['credentials'] = [];
    for (const [i, options] of batch.entries()) {
      const type = types[i]!;
      const { validFrom, validUntil } = dates[i]!;
      const id = timeOrderedId();
      const lists = options.didKeyIssuer
        ? { ...issuer, did: options.didKeyIssuer.did, signingKid: options.didKeyIssuer.verificationMethod }
        : issuer;
      const allocation = await this.status.reserve(lists, options.format === 'dc+sd-jwt' ? 'token' : 'bitstring');
      const credential = await this.sign(agency, type, options, id, now, validFrom, validUntil, allocation);
      const dataModel = options.format === 'jwt_vc_json' || options.format === 'ldp_vc' ? (options.dataModel ?? '2.0') : null;
      issued.push({
        id,
        format: options.format,
        ...(dataModel ? { dataModel } : {}),
        credential,
        typeId: type.id,
        validFrom,
        validUntil,
      });
      credentials.push({
        allocation,
        record: {
          id,
          agencyId: agency.id,
          typeId: type.id,
          format: options.format,
          dataModel,
          digest: hash('sha256', credential, 'hex'),
          // Not recorded (migration 1768000000000): a stable identifier of the citizen's wallet key that nothing reads.
          holderThumbprint: null,
          validFrom,
          validUntil,
          issuedAt: new Date(now),
        },
      });
    }
    // Group commit: resolves once the transaction holding these credentials' rows committed.
    await this.writes.submit({ credentials, inTransaction: inTransaction && ((tx) => inTransaction(tx, issued)) });
    this.audit.afterGroupCommit();
    for (const { id, typeId, format } of issued)
      this.logger.log({ agencyId: agency.id, credentialId: id, typeId, format }, 'credential issued');
    return issued;
  }

  /** The catalogue type of a request, checked with its claims and format, and the agency able to sign. */
  private checkedType(agency: Agency, options: IssueOptions): LicenceType {
    const type = this.catalogue.get(options.typeId);
    if (!type) throw badRequest(`Unknown credential type ${options.typeId}`);
    if (type.status === 'retired') throw credentialTypeRetired(type.id);
    if (!type.formats.includes(options.format)) throw badRequest(`${type.id} is not issued as ${options.format}`);
    // VC-API documents were checked subject by subject (checkIssueInput); OID4VCI offers carry one claim set.
    const violations = options.document ? [] : this.catalogue.validateClaims(type.id, options.claims);
    if (violations.length > 0) throw badRequest(`The claims do not match the ${type.id} schema`, violations);
    if (agency.status !== 'active' || !agency.signingKid) {
      throw new ProblemError(
        409,
        'agency_not_active',
        'The agency DID is not anchored yet',
        'Try again once the agency is active',
      );
    }
    return type;
  }

  private validity(options: IssueOptions, type: LicenceType, now: number): { validFrom: Date; validUntil: Date } {
    const validFrom = options.validFrom ?? new Date(now);
    const latest = validFrom.getTime() + type.validityDays * 86_400_000;
    const validUntil = options.validUntil ?? new Date(latest);
    if (validUntil.getTime() > latest || validUntil <= validFrom) {
      const { from, until } = VALIDITY_MEMBERS[options.document ? (options.dataModel ?? '2.0') : '2.0'];
      throw badRequest(`${until} must follow ${from} by at most ${type.validityDays} days`, [
        { path: `credential.${until}`, message: 'out of range' },
      ]);
    }
    return { validFrom, validUntil };
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
        // Never the credential's own claims (a type stored before they were refused could name one).
        if (RESERVED_CLAIM_NAMES.has(name)) continue;
        (type.selectivelyDisclosable.includes(name) ? disclosable : plain)[name] = value;
      }
      return issueSdJwt({
        header: merged(header, { typ: 'dc+sd-jwt' }),
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
    if (options.document) {
      const document = buildCredentialDocument(options.document, {
        id: `urn:uuid:${id}`,
        validFrom,
        // The generic VCDM type gets no expiry it was not given (its catalogue validity is only the bound).
        validUntil: type.vcType === GENERIC_VC_TYPE ? undefined : validUntil,
        holderDid: options.holderJwk ? didJwk(options.holderJwk) : undefined,
        status: allocation.credentialStatus,
      });
      if (options.format === 'ldp_vc') {
        const method = options.didKeyIssuer?.verificationMethod ?? agency.signingKid!;
        return JSON.stringify(await this.secureWithDataIntegrity(agency, document, method));
      }
      if (options.dataModel === '1.1') return signJws(merged(header, { typ: 'JWT' }), vcJwt11Payload(document), sign);
      return signJws(merged(header, { typ: 'vc+jwt', cty: 'vc' }), vcJwtPayload(document), sign);
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
    return signJws(merged(header, built.header), built.payload, sign);
  }

  /**
   * ecdsa-rdfc-2019 with the agency's P-256 key through src/keys; the proof names its did:ethr key id, or its
   * did:key when that is the issuer.
   */
  private async secureWithDataIntegrity(agency: Agency, document: Record<string, unknown>, verificationMethod: string) {
    // The signature's own failure (the key store, the database) is ours, not the caller's input: passed on as it is.
    let signingFailed: { error: unknown } | undefined;
    try {
      return await secureWithEcdsaRdfc2019(document, {
        verificationMethod,
        sign: (data) =>
          this.keys.signJws(agency.signingKeyId, data).catch((error: unknown) => {
            signingFailed = { error };
            throw error;
          }),
        documentLoader: BUNDLED_CONTEXTS_ONLY,
      });
    } catch (error) {
      if (signingFailed) throw signingFailed.error;
      if (error instanceof DocumentNotLoadable) {
        throw badRequest('The credential names a context that is not bundled', [
          { path: 'credential.@context', message: error.message },
        ]);
      }
      // JSON-LD safe mode: a term no context defines (or another canonicalisation failure) is the caller's input.
      throw badRequest('The credential cannot be secured with Data Integrity', [
        { path: 'credential', message: String((error as Error).message).slice(0, 300) },
      ]);
    }
  }
}

/** The audit entry of an issuance: the credential's SHA-256 digest and metadata, never its claims. */
const issuedEvent = (record: IssuedCredentialEntity) => ({
  kind: 'credential.issued' as const,
  actor: `agency:${record.agencyId}`,
  subject: `credential:${record.id}`,
  data: { type: record.typeId, format: record.format, digest: record.digest },
});
