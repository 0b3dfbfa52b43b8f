import type { Catalogue, CatalogueFormat, LicenceType } from './catalogue.js';
import { merged } from '../common/merged.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { STATUS_LIST_V1_CONTEXT } from './jwt-vc.js';
import {
  dataModelOf,
  issuerIdOf,
  validateCredential,
  VALIDITY_MEMBERS,
  VCDM11_CONTEXT,
  VCDM2_CONTEXT,
  type DataModel,
  type VcdmRule,
} from './vcdm2.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Rules of issuance beyond VCDM 2.0 itself. */
export type IssueRule =
  | VcdmRule
  | 'type.unknown'
  | 'type.ambiguous'
  | 'issuer.not_agency'
  | 'issuer.did_key_not_data_integrity'
  | 'proof.present'
  | 'credentialSubject.multiple_not_allowed'
  | 'credentialSubject.claims'
  | 'format.not_offered'
  | 'dataModel.mismatch';

export interface IssueViolation {
  /** Path in the request body, e.g. `credential.issuer`. */
  path: string;
  code: IssueRule;
  message: string;
}

/** A submitted credential that passed every rule: the catalogue type and the document to secure. */
export interface IssueInput {
  type: LicenceType;
  /** The VCDM document as submitted (the shorthand completed with @context, type and issuer). */
  document: Json;
  /** Its data model: a document's own (by its first context), the shorthand's as asked for. */
  dataModel: DataModel;
  /** The format asked for, or the type's default (dc+sd-jwt when it has it, else its first). */
  format: CatalogueFormat;
  /** The subjects' claims without their ids, one entry per subject. */
  subjects: Json[];
  /** The first subject's id, when it has one. */
  subjectId: string | undefined;
  /** Our back offices' shorthand, completed here (its claim names and licence type are ours, in no context). */
  shorthand: boolean;
}

/**
 * Checks a VC-API `credential` for issuance by `agencyDid` and returns every violation (VCDM 2.0 rules from
 * validateCredential, then ours: a catalogue type, the issuer is the agency, no proof yet, one subject
 * unless the type allows several, the claims of each subject match the type's schema, the format is
 * offered).
 *
 * A document whose first context is VCDM 1.1's is checked by the 1.1 rules (issuanceDate may be left to the
 * issuer); one asked for in the other model (`dataModel`) is refused.
 *
 * A request without `@context` and without `issuer` is the shorthand of our own back offices
 * (`{ type: "DrivingLicenceCredential", credentialSubject }`): it is completed with the v2 context (v1 when 1.1
 * is asked for), the base type and the agency as issuer before it is checked. Anything else is checked exactly as submitted;
 * valid members (name, description, evidence, termsOfUse, refreshService, credentialSchema, extra
 * contexts, the id) are kept, never rewritten.
 */
export function checkIssueInput(
  credential: unknown,
  context: {
    agencyDid: string;
    /** The agency's did:key (of its signing key), an issuer its Data Integrity (ldp_vc) credentials may name. */
    agencyDidKey?: string;
    catalogue: Catalogue;
    format: CatalogueFormat | undefined;
    /** The data model asked for (`options.dataModel`), if any. */
    dataModel?: DataModel;
  },
): { input?: IssueInput; violations: IssueViolation[] } {
  const at = (path: string) => (path ? `credential.${path}` : 'credential');
  if (!isObject(credential))
    return { violations: [{ path: 'credential', code: 'document.not_object', message: 'credential must be a JSON object' }] };
  const shorthand = isShorthand(credential);
  const document = shorthand
    ? completeShorthand(credential, context.agencyDid, context.format === 'ldp_vc', context.dataModel ?? '2.0')
    : { ...credential };
  const dataModel = dataModelOf(document);
  const violations: IssueViolation[] = validateCredential(document, { models: ['2.0', '1.1'] })
    // The issuer dates a VCDM 1.1 credential that comes without its issuanceDate, as it does a 2.0 one's validFrom.
    .filter((violation) => violation.rule !== 'issuanceDate.required')
    .map((violation) => ({ path: at(violation.path), code: violation.rule, message: violation.message }));
  const issuer = document['issuer'];
  const issuerId = issuerIdOf(issuer);
  const issuerChecked = violations.some((v) => v.path.startsWith('credential.issuer'));
  if (issuerId !== undefined && !issuerChecked && issuerId === context.agencyDidKey && context.agencyDidKey) {
    if (context.format !== 'ldp_vc')
      violations.push({
        path: at('issuer'),
        code: 'issuer.did_key_not_data_integrity',
        message: "the agency's did:key issues Data Integrity credentials (ldp_vc) only",
      });
  } else if (issuerId !== undefined && issuerId !== context.agencyDid && !issuerChecked)
    violations.push({
      path: at('issuer'),
      code: 'issuer.not_agency',
      message: 'issuer must be the DID of the calling agency (its did:ethr, or for ldp_vc the did:key of its signing key)',
    });
  if ('proof' in document)
    violations.push({ path: at('proof'), code: 'proof.present', message: 'submit the credential without a proof' });

  // The shorthand names a licence type; the generic type is for full VCDM 2.0 documents only.
  if (context.catalogue.specificTypesNamed(document['type']).length > 1) {
    violations.push({
      path: at('type'),
      code: 'type.ambiguous',
      message: 'names more than one credential type of the catalogue',
    });
    return { violations };
  }
  const type = context.catalogue.byVcTypes(document['type'], !shorthand);
  if (!type) {
    violations.push({ path: at('type'), code: 'type.unknown', message: 'names no credential type of the catalogue' });
    return { violations };
  }
  // The model decides the secured form of a JWT or Data Integrity credential; an SD-JWT VC (asked for, or the type's
  // default when no format is) has none to choose.
  const format = context.format ?? (type.formats.includes('dc+sd-jwt') ? 'dc+sd-jwt' : type.formats[0]);
  if (
    format !== 'dc+sd-jwt' &&
    context.dataModel &&
    context.dataModel !== dataModel &&
    !violations.some((v) => v.path.startsWith('credential.@context'))
  )
    violations.push({
      path: 'options.dataModel',
      code: 'dataModel.mismatch',
      message: `the credential is a VCDM ${dataModel} document (by its first @context), not ${context.dataModel}`,
    });
  if (context.format && !type.formats.includes(context.format))
    violations.push({
      path: 'options.format',
      code: 'format.not_offered',
      message: `${type.id} is not issued as ${context.format}`,
    });

  const value = document['credentialSubject'];
  const list = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && (value.length > 1 || context.format === 'dc+sd-jwt') && !type.multipleSubjects)
    violations.push({
      path: at('credentialSubject'),
      code: 'credentialSubject.multiple_not_allowed',
      message: `${type.id} has one subject`,
    });
  const subjects: Json[] = [];
  list.forEach((subject, index) => {
    if (!isObject(subject)) return;
    const { id: _id, ...claims } = subject;
    subjects.push(claims);
    const where = Array.isArray(value) ? at(`credentialSubject[${index}]`) : at('credentialSubject');
    for (const problem of context.catalogue.validateClaims(type.id, claims)) {
      violations.push({
        path: problem.path === '(root)' ? where : `${where}.${problem.path}`,
        code: 'credentialSubject.claims',
        message: problem.message,
      });
    }
  });
  if (violations.length) return { violations };
  const first = list[0] as Json;
  return {
    input: {
      type,
      document,
      dataModel,
      format,
      subjects,
      subjectId: typeof first['id'] === 'string' ? first['id'] : undefined,
      shorthand,
    },
    violations,
  };
}

const isShorthand = (credential: Json): boolean => !('@context' in credential) && !('issuer' in credential);

function completeShorthand(credential: Json, agencyDid: string, dataIntegrity: boolean, model: DataModel): Json {
  const types = Array.isArray(credential['type']) ? credential['type'] : [credential['type']];
  const base = model === '1.1' ? VCDM11_CONTEXT : VCDM2_CONTEXT;
  // The shorthand names its validity as 2.0 does whatever the model asked for; 1.1 calls it issuanceDate/expirationDate.
  const { validFrom, validUntil, ...rest } = credential;
  // A 1.1 date the shorthand names itself is kept, and the 2.0 one beside it too (as any unknown member).
  const { from, until } = VALIDITY_MEMBERS[model];
  const issuedAs = credential[from] === undefined ? from : 'validFrom';
  const expiresAs = credential[until] === undefined ? until : 'validUntil';
  const dates = {
    ...(validFrom !== undefined ? { [issuedAs]: validFrom } : {}),
    ...(validUntil !== undefined ? { [expiresAs]: validUntil } : {}),
  };
  return {
    // Catalogue claims are plain JSON names; under Data Integrity they need terms (JSON-LD safe mode).
    '@context': dataIntegrity ? [base, UNDEFINED_TERMS_CONTEXT] : [base],
    ...rest,
    ...dates,
    type: types.includes('VerifiableCredential') ? credential['type'] : ['VerifiableCredential', ...types],
    issuer: agencyDid,
  };
}

/** The holder key named by a subject id, when the id is a did:jwk (other URLs bind no key). */
export const holderJwkOfSubject = (subjectId: string | undefined) => (subjectId ? jwkFromDidJwk(subjectId) : undefined);

const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The document to secure: the submitted one with what issuance adds and nothing rewritten: an `id` when it
 * has none, `validFrom` when absent, `validUntil` when absent and given (licence types expire; the generic
 * type does not unless the submitter says so), the holder's did:jwk as subject id when a key was given
 * and the subject has no id, and our status entries after any submitted ones. A VCDM 1.1 document gets
 * `issuanceDate` and `expirationDate` instead, and the status list context that defines our entries' terms.
 */
export function buildCredentialDocument(
  document: Json,
  fill: { id: string; validFrom: Date; validUntil?: Date; holderDid?: string; status?: Json[] },
): Json {
  // A copy that takes members below: `merged`, so that the copy does not get a hidden class of its own (ADR 33).
  const built: Json = merged(document, {});
  const model = dataModelOf(document);
  built['id'] ??= fill.id;
  const { from, until } = VALIDITY_MEMBERS[model];
  built[from] ??= iso(fill.validFrom);
  if (fill.validUntil) built[until] ??= iso(fill.validUntil);
  const contexts = built['@context'] as unknown[];
  if (model === '1.1' && fill.status?.length && !contexts.includes(STATUS_LIST_V1_CONTEXT))
    built['@context'] = [...contexts, STATUS_LIST_V1_CONTEXT];
  if (fill.holderDid && isObject(built['credentialSubject']) && !('id' in built['credentialSubject']))
    built['credentialSubject'] = { id: fill.holderDid, ...built['credentialSubject'] };
  if (fill.status?.length) {
    const submitted = built['credentialStatus'];
    const existing = submitted === undefined ? [] : Array.isArray(submitted) ? submitted : [submitted];
    built['credentialStatus'] = [...existing, ...fill.status];
  }
  return built;
}

/**
 * The JWT registered claims that stand for a document's issuer, id, validity and single subject (RFC 7519 §4.1, VCDM
 * 1.1 §6.3.1), so that plain JWT libraries check issuer and expiry too. No `nbf` for a VCDM 2.0 document: VC-JOSE-COSE
 * calls it NOT RECOMMENDED (validFrom says when the credential starts; a JWT library would refuse the token before).
 */
function registeredClaims(document: Json): Json {
  const issuer = document['issuer'];
  const subject = Array.isArray(document['credentialSubject']) ? undefined : (document['credentialSubject'] as Json);
  const model = dataModelOf(document);
  const { from, until } = VALIDITY_MEMBERS[model];
  const seconds = (value: unknown) => (typeof value === 'string' ? Math.floor(Date.parse(value) / 1000) : undefined);
  return {
    iss: isObject(issuer) ? issuer['id'] : issuer,
    jti: document['id'],
    iat: Math.floor(Date.now() / 1000),
    ...(model !== '2.0' && seconds(document[from]) !== undefined ? { nbf: seconds(document[from]) } : {}),
    ...(seconds(document[until]) !== undefined ? { exp: seconds(document[until]) } : {}),
    ...(typeof subject?.['id'] === 'string' ? { sub: subject['id'] } : {}),
  };
}

/** A VCDM 2.0 document as a vc+jwt payload: the document, plus registered claims mirroring it for JWT libraries. */
export const vcJwtPayload = (document: Json): Json => merged(document, registeredClaims(document));

/** A VCDM 1.1 document as a JWT (VCDM 1.1 §6.3.1): the registered claims, and the document as the `vc` claim. */
export const vcJwt11Payload = (document: Json): Json => merged(registeredClaims(document), { vc: document });

/** The context that gives catalogue claims and types terms when a shorthand request asks for Data Integrity. */
export const UNDEFINED_TERMS_CONTEXT = 'https://www.w3.org/ns/credentials/undefined-terms/v2';
