/**
 * W3C Verifiable Credentials Data Model 2.0: the document rules that a JSON processor can check without
 * JSON-LD expansion (§4 Basic Concepts, §4.12 Verifiable Presentations, §4.13 Enveloped objects). Pure:
 * every violation is reported with a JSON path and a stable rule code, so an issuer can refuse a request
 * listing all of them and a verifier can report them; messages are one line and safe to show.
 */

export const VCDM2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
export const VCDM11_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

/** W3C VC Data Model 2.0, or 1.1 (still what many wallets, verifiers and the W3C suites' defaults speak). */
export type DataModel = '2.0' | '1.1';

/** The members that bound a credential's validity in each model: VCDM 2.0 §4.9, VCDM 1.1 §4.6 and §4.7. */
export const VALIDITY_MEMBERS: Readonly<Record<DataModel, { from: string; until: string }>> = {
  '2.0': { from: 'validFrom', until: 'validUntil' },
  '1.1': { from: 'issuanceDate', until: 'expirationDate' },
};

/** Which checks a document gets: VCDM 2.0 alone (the default), or 2.0 and 1.1, each by the document's first context. */
export interface ModelOptions {
  models?: readonly DataModel[];
}

export type VcdmRule =
  | 'document.not_object'
  | 'context.required'
  | 'context.not_ordered_set'
  | 'context.first_not_v2'
  | 'context.item_invalid'
  | 'id.not_url'
  | 'type.required'
  | 'type.invalid'
  | 'type.missing_base'
  | 'type.not_term_or_url'
  | 'name.invalid'
  | 'description.invalid'
  | 'issuer.required'
  | 'issuer.invalid'
  | 'issuer.not_url'
  | 'credentialSubject.required'
  | 'credentialSubject.invalid'
  | 'credentialSubject.no_claims'
  | 'validFrom.invalid'
  | 'validUntil.invalid'
  | 'validity.order'
  | 'issuanceDate.required'
  | 'issuanceDate.invalid'
  | 'expirationDate.invalid'
  | 'extension.invalid'
  | 'extension.type_required'
  | 'extension.id_required'
  | 'relatedResource.digest_required'
  | 'relatedResource.duplicate_id'
  | 'status_entry.purpose'
  | 'status_entry.index'
  | 'status_entry.list_url'
  | 'status_entry.size'
  | 'status_entry.message'
  | 'proof.invalid'
  | 'holder.invalid'
  | 'holder.not_url'
  | 'verifiableCredential.invalid'
  | 'envelope.type'
  | 'envelope.id_not_data_url'
  | 'envelope.media_type';

export interface VcdmViolation {
  /** JSON path inside the document, e.g. `credentialSubject[1].id`; empty for the document itself. */
  path: string;
  rule: VcdmRule;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The data model a document is written in, by its first context (VCDM 1.1 §4.1, 2.0 §4.3): 1.1 for the v1 context. */
export function dataModelOf(doc: unknown): DataModel {
  const context = isObject(doc) ? doc['@context'] : undefined;
  return Array.isArray(context) && context[0] === VCDM11_CONTEXT ? '1.1' : '2.0';
}

/** The model a document is checked under: its own when that is allowed, else 2.0 (whose rules then refuse it). */
const modelUnder = (doc: unknown, options: ModelOptions): DataModel =>
  (options.models ?? ['2.0']).includes('1.1') ? dataModelOf(doc) : '2.0';

/** The id of an `issuer` or `holder` that may be a URL or an object with an `id` (VCDM 2.0 §4.7). */
export const issuerIdOf = (issuer: unknown): unknown => (isObject(issuer) ? issuer['id'] : issuer);

/** A URL as VCDM 2.0 means it (RFC 3986 absolute URL, e.g. https:, did:, urn:): parseable, no whitespace. */
export function isUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) return false;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:./.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** XML Schema 1.1 dateTimeStamp: a dateTime that carries a time zone offset (`Z` or `±hh:mm`). */
const DATE_TIME_STAMP =
  /^-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;

export function isDateTimeStamp(value: unknown): value is string {
  return typeof value === 'string' && DATE_TIME_STAMP.test(value) && !Number.isNaN(Date.parse(value));
}

/** A JSON-LD term (no colon) or an absolute URL / compact IRI; what `type` values may be. */
const isTermOrUrl = (value: string): boolean => /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(value) || isUrl(value);

const BCP47 = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

/** Violations kept per document, and characters of a path: both come from the input, and go back in the answer. */
const MAX_VIOLATIONS = 100;
const MAX_PATH_LENGTH = 200;

/**
 * The violations found, at most MAX_VIOLATIONS, each path cut to MAX_PATH_LENGTH: a 64 KB document of hundreds of
 * malformed entries under a 40,000-character member name would otherwise be answered with tens of MB.
 */
class Report {
  readonly violations: VcdmViolation[] = [];
  add(path: string, rule: VcdmRule, message: string): void {
    if (this.violations.length >= MAX_VIOLATIONS) return;
    const shown = path.length > MAX_PATH_LENGTH ? `${path.slice(0, MAX_PATH_LENGTH - 1)}…` : path;
    this.violations.push({ path: shown, rule, message });
  }
}

const join = (base: string, member: string | number): string =>
  typeof member === 'number' ? `${base}[${member}]` : base ? `${base}.${member}` : member;

/** A value that may be one item or a set of items, as a list (`undefined` for absent). */
const asSet = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

function checkContext(
  doc: Json,
  path: string,
  report: Report,
  options: { allowString?: boolean; model?: DataModel; allowed?: readonly DataModel[] } = {},
): void {
  const at = join(path, '@context');
  if (!('@context' in doc)) return report.add(at, 'context.required', '@context is required');
  let context = doc['@context'];
  if (typeof context === 'string' && options.allowString) context = [context];
  if (!Array.isArray(context) || context.length === 0)
    return report.add(at, 'context.not_ordered_set', '@context must be an ordered set (a non-empty array)');
  const first = options.model === '1.1' ? VCDM11_CONTEXT : VCDM2_CONTEXT;
  if (context[0] !== first)
    report.add(
      join(at, 0),
      'context.first_not_v2',
      options.allowed?.includes('1.1')
        ? `the first @context must be ${VCDM2_CONTEXT} (VCDM 2.0) or ${VCDM11_CONTEXT} (VCDM 1.1)`
        : `the first @context must be ${VCDM2_CONTEXT}`,
    );
  context.forEach((item, index) => {
    if (index === 0 && item === first) return;
    if (!(isUrl(item) || isObject(item)))
      report.add(join(at, index), 'context.item_invalid', '@context items must be URLs or context objects');
    // Each base context protects the terms the other defines: together they are no valid JSON-LD.
    else if (index > 0 && context[0] === first && item === (first === VCDM2_CONTEXT ? VCDM11_CONTEXT : VCDM2_CONTEXT))
      report.add(join(at, index), 'context.item_invalid', 'the VCDM 2.0 and 1.1 base contexts cannot be used together');
  });
}

/** Term definitions of inline context objects, for checking what a `type` term maps to. */
function inlineTerms(doc: Json): Map<string, unknown> {
  const terms = new Map<string, unknown>();
  for (const item of Array.isArray(doc['@context']) ? doc['@context'] : []) {
    if (isObject(item)) for (const [term, definition] of Object.entries(item)) terms.set(term, definition);
  }
  return terms;
}

function checkType(doc: Json, path: string, base: string, report: Report): void {
  const at = join(path, 'type');
  if (!('type' in doc)) return report.add(at, 'type.required', 'type is required');
  const types = asSet(doc['type']);
  if (types.length === 0 || !types.every((type) => typeof type === 'string' && type.length > 0))
    return report.add(at, 'type.invalid', 'type must be a string or a non-empty array of strings');
  if (!types.includes(base)) report.add(at, 'type.missing_base', `type must include ${base}`);
  const terms = inlineTerms(doc);
  (types as string[]).forEach((type, index) => {
    const where = Array.isArray(doc['type']) ? join(at, index) : at;
    if (!isTermOrUrl(type))
      return report.add(where, 'type.not_term_or_url', `type ${type.slice(0, 80)} is neither a term nor a URL`);
    // A term an inline context maps to something that is not a URL does not expand to a type IRI.
    const definition = terms.get(type);
    const mapped = isObject(definition) ? definition['@id'] : definition;
    const mapsToIri = typeof mapped === 'string' && (mapped.startsWith('@') || isUrl(mapped));
    if (definition !== undefined && !mapsToIri)
      report.add(where, 'type.not_term_or_url', `type ${type.slice(0, 80)} is mapped to a value that is not a URL`);
  });
}

function checkId(doc: Json, path: string, report: Report): void {
  if ('id' in doc && !isUrl(doc['id'])) report.add(join(path, 'id'), 'id.not_url', 'id must be a single URL');
}

function isLanguageValue(value: unknown): boolean {
  if (!isObject(value) || typeof value['@value'] !== 'string') return false;
  if (Object.keys(value).some((key) => !['@value', '@language', '@direction'].includes(key))) return false;
  if ('@language' in value && !(typeof value['@language'] === 'string' && BCP47.test(value['@language']))) return false;
  return !('@direction' in value) || value['@direction'] === 'ltr' || value['@direction'] === 'rtl';
}

/** `name` and `description`: a string, a language value object, or a set of language value objects. */
function checkText(doc: Json, member: 'name' | 'description', path: string, report: Report): void {
  if (!(member in doc)) return;
  const value = doc[member];
  const ok =
    typeof value === 'string' ||
    isLanguageValue(value) ||
    (Array.isArray(value) && value.length > 0 && value.every(isLanguageValue));
  if (!ok) report.add(join(path, member), `${member}.invalid`, `${member} must be a string or language value objects`);
}

/** Issuer and holder: a URL, or an object whose `id` is a URL. */
function checkParty(value: unknown, at: string, kind: 'issuer' | 'holder', report: Report): void {
  if (typeof value === 'string') {
    if (!isUrl(value)) report.add(at, `${kind}.not_url`, `${kind} must be a URL`);
    return;
  }
  if (!isObject(value)) return report.add(at, `${kind}.invalid`, `${kind} must be a URL or an object with an id`);
  if (!isUrl(value['id'])) report.add(join(at, 'id'), `${kind}.not_url`, `${kind}.id must be a URL`);
  checkText(value, 'name', at, report);
  checkText(value, 'description', at, report);
}

function checkSubjects(doc: Json, path: string, report: Report): void {
  const at = join(path, 'credentialSubject');
  if (!('credentialSubject' in doc)) return report.add(at, 'credentialSubject.required', 'credentialSubject is required');
  const value = doc['credentialSubject'];
  const subjects = Array.isArray(value) ? value : [value];
  if (subjects.length === 0 || !subjects.every(isObject))
    return report.add(at, 'credentialSubject.invalid', 'credentialSubject must be an object or a non-empty array of objects');
  subjects.forEach((subject, index) => {
    const where = Array.isArray(value) ? join(at, index) : at;
    // An id alone identifies the subject and is accepted, as the W3C VCDM 2.0 suite's fixtures have it
    // (credential-subject-single-id-ok); only an empty object makes no claim (credential-subject-no-claims-fail).
    if (Object.keys(subject).length === 0)
      report.add(where, 'credentialSubject.no_claims', 'each credentialSubject must make at least one claim');
    checkId(subject, where, report);
  });
}

/** VCDM 1.1 §4.6, §4.7: issuanceDate is required, both dates are date-times with a time zone. */
function checkValidity11(doc: Json, path: string, report: Report): void {
  if (!('issuanceDate' in doc)) report.add(join(path, 'issuanceDate'), 'issuanceDate.required', 'issuanceDate is required');
  for (const member of ['issuanceDate', 'expirationDate'] as const) {
    if (member in doc && !isDateTimeStamp(doc[member]))
      // XML Schema lets a dateTime go without a time zone; we do not (its instant would be a guess), as the 1.0 suite's regex.
      report.add(join(path, member), `${member}.invalid`, `${member} must be a date-time with a time zone (RFC 3339)`);
  }
  if (isDateTimeStamp(doc['issuanceDate']) && isDateTimeStamp(doc['expirationDate'])) {
    if (Date.parse(doc['expirationDate']) < Date.parse(doc['issuanceDate']))
      report.add(join(path, 'expirationDate'), 'validity.order', 'expirationDate is before issuanceDate');
  }
}

function checkValidity(doc: Json, path: string, report: Report): void {
  for (const member of ['validFrom', 'validUntil'] as const) {
    if (member in doc && !isDateTimeStamp(doc[member]))
      report.add(join(path, member), `${member}.invalid`, `${member} must be an XML Schema dateTimeStamp with a time zone`);
  }
  if (isDateTimeStamp(doc['validFrom']) && isDateTimeStamp(doc['validUntil'])) {
    if (Date.parse(doc['validUntil']) < Date.parse(doc['validFrom']))
      report.add(join(path, 'validUntil'), 'validity.order', 'validUntil is before validFrom');
  }
}

/** Extension points (§4.10 status, §4.11 schemas, §5.x): objects with a `type`; `id` a URL (required where the spec says). */
const EXTENSIONS: { member: string; idRequired: boolean }[] = [
  { member: 'credentialStatus', idRequired: false },
  { member: 'credentialSchema', idRequired: true },
  { member: 'termsOfUse', idRequired: false },
  { member: 'evidence', idRequired: false },
  { member: 'refreshService', idRequired: false },
  { member: 'renderMethod', idRequired: false },
  { member: 'confidenceMethod', idRequired: false },
];

function checkExtensions(doc: Json, path: string, report: Report, model: DataModel = '2.0'): void {
  for (const { member, idRequired: required } of EXTENSIONS) {
    if (!(member in doc)) continue;
    // VCDM 1.1 §4.9, §5.6: a credentialStatus and a refreshService have an id (2.0 made both optional).
    const idRequired = required || (model === '1.1' && (member === 'credentialStatus' || member === 'refreshService'));
    const value = doc[member];
    const at = join(path, member);
    const items = asSet(value);
    if (items.length === 0 || !items.every(isObject)) {
      report.add(at, 'extension.invalid', `${member} must be an object or a non-empty array of objects`);
      continue;
    }
    items.forEach((item, index) => {
      const where = Array.isArray(value) ? join(at, index) : at;
      const types = asSet(item['type']);
      if (!('type' in item) || types.length === 0 || !types.every((type) => typeof type === 'string' && type.length > 0))
        report.add(join(where, 'type'), 'extension.type_required', `${member} must have a type`);
      if (idRequired && !('id' in item)) report.add(join(where, 'id'), 'extension.id_required', `${member} must have an id`);
      else checkId(item, where, report);
    });
  }
  if ('relatedResource' in doc) {
    const value = doc['relatedResource'];
    const at = join(path, 'relatedResource');
    const items = asSet(value);
    if (items.length === 0 || !items.every(isObject))
      return report.add(at, 'extension.invalid', 'relatedResource must be an object or a non-empty array of objects');
    items.forEach((item, index) => {
      const where = Array.isArray(value) ? join(at, index) : at;
      if (!isUrl(item['id'])) report.add(join(where, 'id'), 'id.not_url', 'relatedResource.id must be a URL');
      if (typeof item['digestSRI'] !== 'string' && typeof item['digestMultibase'] !== 'string')
        report.add(where, 'relatedResource.digest_required', 'relatedResource needs digestSRI or digestMultibase');
      // VCDM 2.0 §5.3: each related resource's id is unique in the list (two digests for one resource contradict).
      if (isUrl(item['id']) && items.findIndex((other) => other['id'] === item['id']) < index)
        report.add(join(where, 'id'), 'relatedResource.duplicate_id', 'relatedResource ids must be unique');
    });
  }
}

/**
 * Every BitstringStatusListEntry in the document, wherever it is (VC Bitstring Status List §2.1's MUSTs): a malformed
 * one "MUST raise a MALFORMED_VALUE_ERROR" (§3), so the issuer refuses to sign it and the verifier reports it.
 */
function checkStatusEntries(doc: Json, path: string, report: Report): void {
  const stack: { value: unknown; at: string }[] = [{ value: doc, at: path }];
  while (stack.length > 0) {
    const { value, at } = stack.pop()!;
    if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, at: join(at, index) }));
    if (!isObject(value)) continue;
    for (const [member, inner] of Object.entries(value))
      if (typeof inner === 'object' && inner !== null) stack.push({ value: inner, at: join(at, member) });
    if (!asSet(value['type']).includes('BitstringStatusListEntry')) continue;
    if (typeof value['statusPurpose'] !== 'string' || value['statusPurpose'].length === 0)
      report.add(join(at, 'statusPurpose'), 'status_entry.purpose', 'statusPurpose must be a string');
    const index = value['statusListIndex'];
    if (typeof index !== 'string' || !/^(0|[1-9]\d*)$/.test(index))
      report.add(join(at, 'statusListIndex'), 'status_entry.index', 'statusListIndex must be a base-10 integer in a string');
    if (!isUrl(value['statusListCredential']))
      report.add(join(at, 'statusListCredential'), 'status_entry.list_url', 'statusListCredential must be a URL');
    const size = value['statusSize'];
    if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 1))
      report.add(join(at, 'statusSize'), 'status_entry.size', 'statusSize must be a positive integer');
    else if ((size as number) > 1 && !Array.isArray(value['statusMessage']))
      report.add(join(at, 'statusMessage'), 'status_entry.message', 'statusMessage must be given when statusSize is over 1');
  }
}

function checkProof(doc: Json, path: string, report: Report): void {
  if (!('proof' in doc)) return;
  const proofs = asSet(doc['proof']);
  if (proofs.length === 0 || !proofs.every((proof) => isObject(proof) && typeof proof['type'] === 'string'))
    report.add(join(path, 'proof'), 'proof.invalid', 'proof must be an object (or objects) with a type');
}

/** Which kind of VCDM 2.0 object a value is, by its `type`. */
export function envelopeKind(value: unknown): 'EnvelopedVerifiableCredential' | 'EnvelopedVerifiablePresentation' | undefined {
  if (!isObject(value)) return undefined;
  const types = asSet(value['type']);
  if (types.includes('EnvelopedVerifiableCredential')) return 'EnvelopedVerifiableCredential';
  if (types.includes('EnvelopedVerifiablePresentation')) return 'EnvelopedVerifiablePresentation';
  return undefined;
}

function credentialViolations(doc: unknown, path: string, report: Report, options: ModelOptions): void {
  if (!isObject(doc)) return report.add(path, 'document.not_object', 'a credential must be a JSON object');
  const model = modelUnder(doc, options);
  checkContext(doc, path, report, { model, allowed: options.models });
  checkId(doc, path, report);
  checkType(doc, path, 'VerifiableCredential', report);
  checkText(doc, 'name', path, report);
  checkText(doc, 'description', path, report);
  if (!('issuer' in doc)) report.add(join(path, 'issuer'), 'issuer.required', 'issuer is required');
  else checkParty(doc['issuer'], join(path, 'issuer'), 'issuer', report);
  checkSubjects(doc, path, report);
  if (model === '1.1') checkValidity11(doc, path, report);
  else checkValidity(doc, path, report);
  checkExtensions(doc, path, report, model);
  checkStatusEntries(doc, path, report);
  checkProof(doc, path, report);
}

/** Every VCDM 2.0 violation of a credential (secured or not); with `models` including 1.1, a v1 document's 1.1 violations. */
export function validateCredential(doc: unknown, options: ModelOptions = {}): VcdmViolation[] {
  const report = new Report();
  credentialViolations(doc, '', report, options);
  return report.violations;
}

/** Every VCDM 2.0 (or, when allowed, 1.1) violation of a presentation, including those of the credentials it embeds. */
export function validatePresentation(doc: unknown, options: ModelOptions = {}): VcdmViolation[] {
  const report = new Report();
  if (!isObject(doc)) {
    report.add('', 'document.not_object', 'a presentation must be a JSON object');
    return report.violations;
  }
  const model = modelUnder(doc, options);
  checkContext(doc, '', report, { model, allowed: options.models });
  checkId(doc, '', report);
  checkType(doc, '', 'VerifiablePresentation', report);
  checkText(doc, 'name', '', report);
  checkText(doc, 'description', '', report);
  if ('holder' in doc) checkParty(doc['holder'], 'holder', 'holder', report);
  checkExtensions(doc, '', report);
  checkProof(doc, '', report);
  if ('verifiableCredential' in doc) {
    const value = doc['verifiableCredential'];
    const items = asSet(value);
    if (!items.every(isObject)) {
      report.add('verifiableCredential', 'verifiableCredential.invalid', 'verifiableCredential must hold credential objects');
    } else {
      items.forEach((item, index) => {
        const where = Array.isArray(value) ? `verifiableCredential[${index}]` : 'verifiableCredential';
        // A 1.1 presentation's verifiableCredential does not reset the context (2.0's does): a 2.0 credential or
        // envelope inside would redefine its protected terms.
        if (model === '1.1' && dataModelOf(item) !== '1.1')
          report.add(
            join(where, '@context'),
            'context.first_not_v2',
            `a VCDM 1.1 presentation holds VCDM 1.1 credentials (first @context ${VCDM11_CONTEXT})`,
          );
        else if (envelopeKind(item) === 'EnvelopedVerifiableCredential') envelopeViolations(item, where, 'credential', report);
        else credentialViolations(item, where, report, options);
      });
    }
  }
  return report.violations;
}

/** Media types of enveloped credentials and presentations (VC-JOSE-COSE §3, §6.1; VCDM 1.1 JWT as `application/jwt`). */
export const ENVELOPE_MEDIA_TYPES = {
  credential: ['application/vc+jwt', 'application/vc+sd-jwt', 'application/dc+sd-jwt', 'application/jwt'],
  presentation: ['application/vp+jwt', 'application/vp+sd-jwt', 'application/jwt'],
} as const;

export interface ParsedEnvelope {
  mediaType: string;
  /** The enveloped token (compact JWS or SD-JWT), percent-decoded. */
  token: string;
}

/** `data:<media type>[;params],<data>` (RFC 2397); base64 payloads are refused (JOSE tokens are text). */
export function parseDataUrl(value: unknown): ParsedEnvelope | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^data:([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)((?:;[a-z0-9-]+=[^;,]*)*),(.+)$/is.exec(value);
  if (!match) return undefined;
  try {
    return { mediaType: match[1]!.toLowerCase(), token: decodeURIComponent(match[3]!) };
  } catch {
    return undefined;
  }
}

function envelopeViolations(doc: Json, path: string, kind: 'credential' | 'presentation', report: Report): void {
  const expectedType = kind === 'credential' ? 'EnvelopedVerifiableCredential' : 'EnvelopedVerifiablePresentation';
  checkContext(doc, path, report, { allowString: true });
  if (!asSet(doc['type']).includes(expectedType)) report.add(join(path, 'type'), 'envelope.type', `type must be ${expectedType}`);
  const parsed = parseDataUrl(doc['id']);
  if (!parsed)
    return report.add(join(path, 'id'), 'envelope.id_not_data_url', 'id must be a data: URL holding the secured token');
  if (!(ENVELOPE_MEDIA_TYPES[kind] as readonly string[]).includes(parsed.mediaType))
    report.add(
      join(path, 'id'),
      'envelope.media_type',
      `media type ${parsed.mediaType.slice(0, 60)} is not a ${kind} media type`,
    );
}

/**
 * The rules of an EnvelopedVerifiableCredential / EnvelopedVerifiablePresentation object (VCDM 2.0 §4.13):
 * `@context` with the v2 context first, its `type`, and an `id` that is a `data:` URL of a credential or
 * presentation media type. The token's own `typ` and contents are checked by the verifier.
 */
export function validateEnvelope(doc: unknown, kind: 'credential' | 'presentation'): VcdmViolation[] {
  const report = new Report();
  if (!isObject(doc)) report.add('', 'document.not_object', `an enveloped ${kind} must be a JSON object`);
  else envelopeViolations(doc, '', kind, report);
  return report.violations;
}
