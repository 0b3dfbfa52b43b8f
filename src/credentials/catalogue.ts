import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { RE2JS } from 're2js';
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import type { Violation } from '../common/index.js';
import { RESERVED_CLAIM_NAMES } from './sd-jwt.js';

/** Formats issued over OID4VCI and VC-API as compact tokens. */
export const CREDENTIAL_FORMATS = ['dc+sd-jwt', 'jwt_vc_json'] as const;
export type CredentialFormat = (typeof CREDENTIAL_FORMATS)[number];
/** What a catalogue type may list: the compact formats and `ldp_vc` (a JSON credential with a Data Integrity proof). */
export const CATALOGUE_FORMATS = [...CREDENTIAL_FORMATS, 'ldp_vc'] as const;
export type CatalogueFormat = (typeof CATALOGUE_FORMATS)[number];
export const HOLDER_TYPES = ['natural', 'legal'] as const;
export type HolderType = (typeof HOLDER_TYPES)[number];
export type CatalogueTypeStatus = 'active' | 'retired';
/** The vcType of the generic VCDM 2.0 type: it matches any credential no specific type claims. */
export const GENERIC_VC_TYPE = 'VerifiableCredential';

const localisedDisplay = z.object({ name: z.string().min(1), description: z.string().optional() });

/**
 * One licence or identity credential type: the shipped catalogue/<id>.json files (the seed) and what the
 * operator API creates and versions at run time.
 */
export const licenceTypeSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,62}$/),
  vcType: z.string().regex(/^[A-Z][A-Za-z0-9]{1,99}$/),
  /** The licence catalogue code (证照目录编码, GB/T 36901-style), e.g. `11100000MB0123456X-0001`. */
  catalogueCode: z
    .string()
    .regex(/^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$/)
    .optional(),
  /** Who holds it: a natural person (居民) or a legal person (法人, e.g. a business licence). */
  holderType: z.enum(HOLDER_TYPES).default('natural'),
  display: z.strictObject({ en: localisedDisplay, 'zh-CN': localisedDisplay }),
  validityDays: z.number().int().positive().max(36_500),
  formats: z.array(z.enum(CATALOGUE_FORMATS)).min(1),
  selectivelyDisclosable: z.array(z.string()),
  /** Whether `credentialSubject` may be an array (several subjects); the claims schema applies to each. */
  multipleSubjects: z.boolean().default(false),
  claims: z.strictObject({
    type: z.literal('object'),
    properties: z.record(z.string(), z.record(z.string(), z.unknown())),
    required: z.array(z.string()).default([]),
    additionalProperties: z.boolean(),
  }),
});

export type LicenceTypeDefinition = z.infer<typeof licenceTypeSchema>;
export type LicenceTypeInput = z.input<typeof licenceTypeSchema>;

/** A type as the catalogue holds it: its current definition, version and status. */
export interface CatalogueEntry {
  definition: LicenceTypeDefinition;
  status?: CatalogueTypeStatus;
  version?: number;
}

export interface LicenceType extends LicenceTypeDefinition {
  /** SD-JWT VC type identifier; also where the type metadata is served. */
  vct: string;
  status: CatalogueTypeStatus;
  version: number;
  /** SHA-256 (hex) of the canonical JSON of the definition: what a consortium would publish on chain. */
  schemaDigest: string;
}

/** JSON with object keys sorted, so equal definitions give equal digests. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const schemaDigest = (definition: LicenceTypeDefinition): string =>
  createHash('sha256').update(canonicalJson(definition)).digest('hex');

/**
 * Problems of a definition beyond its shape: disclosable claims must exist, every pattern must be safe to run, and
 * the schema must compile. A schema with a pattern problem is not compiled: an unsafe pattern is never turned into
 * a RegExp, and an invalid one gets our message rather than the engine's.
 */
export function definitionProblems(definition: LicenceTypeDefinition): Violation[] {
  const problems: Violation[] = [];
  for (const claim of definition.selectivelyDisclosable) {
    if (!(claim in definition.claims.properties))
      problems.push({ path: 'selectivelyDisclosable', message: `unknown claim ${claim}` });
  }
  for (const claim of definition.claims.required) {
    if (!(claim in definition.claims.properties)) problems.push({ path: 'claims.required', message: `unknown claim ${claim}` });
  }
  for (const claim of Object.keys(definition.claims.properties)) {
    if (RESERVED_CLAIM_NAMES.has(claim))
      problems.push({ path: `claims.properties.${claim}`, message: `${claim} is a name the SD-JWT VC itself uses` });
  }
  const patternProblems = claimPatternProblems(definition.claims);
  if (patternProblems.length) return [...problems, ...patternProblems];
  try {
    newAjv().compile(definition.claims);
  } catch (error) {
    problems.push({ path: 'claims', message: `not a valid JSON Schema: ${(error as Error).message}` });
  }
  return problems;
}

/** The longest `pattern` (or patternProperties key) a claims schema may hold. */
export const MAX_PATTERN_LENGTH = 256;
/** The longest value a pattern with one variable repetition runs on natively; a longer one is matched on RE2. */
export const MAX_PATTERN_CHECKED_LENGTH = 1_024;

/** Keywords whose value is a subschema or a list of subschemas (JSON Schema 2020-12 as Ajv knows it). */
const SUBSCHEMA_KEYWORDS = new Set([
  'not',
  'if',
  'then',
  'else',
  'allOf',
  'anyOf',
  'oneOf',
  'items',
  'prefixItems',
  'additionalItems',
  'contains',
  'propertyNames',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
/** Keywords whose value maps names to subschemas (`dependencies` also holds string lists, which are skipped). */
const SUBSCHEMA_MAP_KEYWORDS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
  'dependencies',
]);

/**
 * Every regular expression of a claims schema that could stall the event loop: Ajv runs `pattern` and
 * `patternProperties` keys as native RegExps, which backtrack, on values a caller sends. Each must be short, valid,
 * and free of the shapes that backtrack exponentially. Strict mode refuses unknown keywords, so no pattern hides
 * outside the keywords walked here; `format` names only ajv-formats' fixed formats.
 */
export function claimPatternProblems(claims: LicenceTypeDefinition['claims']): Violation[] {
  const problems: Violation[] = [];
  for (const [claim, schema] of Object.entries(claims.properties)) {
    walkSchema(schema, `claims.properties.${claim}`, (pattern, path) => {
      const problem = patternProblem(pattern);
      if (problem) problems.push({ path, message: `claim ${claim}: ${problem}` });
    });
  }
  return problems;
}

function walkSchema(schema: unknown, path: string, visit: (pattern: string, path: string) => void): void {
  if (!isObject(schema)) return;
  if (typeof schema['pattern'] === 'string') visit(schema['pattern'], `${path}.pattern`);
  const patternProperties = schema['patternProperties'];
  if (isObject(patternProperties)) {
    for (const pattern of Object.keys(patternProperties)) visit(pattern, `${path}.patternProperties`);
  }
  for (const [keyword, value] of Object.entries(schema)) {
    if (SUBSCHEMA_KEYWORDS.has(keyword)) {
      if (Array.isArray(value)) value.forEach((item, index) => walkSchema(item, `${path}.${keyword}.${index}`, visit));
      else walkSchema(value, `${path}.${keyword}`, visit);
    } else if (SUBSCHEMA_MAP_KEYWORDS.has(keyword) && isObject(value)) {
      for (const [name, item] of Object.entries(value)) walkSchema(item, `${path}.${keyword}.${name}`, visit);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why a pattern may not be run, in our words (never the engine's: they would echo its internals); undefined if it may. */
function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    // Only built, never run; with the flag Ajv gives (unicodeRegExp).
    new RegExp(pattern, 'u');
  } catch {
    return 'pattern is not a valid regular expression';
  }
  // safe-regex2 finds a repetition inside a repetition, as in (a+)+; it misses a repeated group of alternatives,
  // as in (a|a)*, which backtracks as badly.
  if (!safeRegex(pattern) || repeatsAlternatives(pattern))
    return 'pattern may take exponential time to match (a repetition inside a repetition, or a repeated group with alternatives)';
  // Every pattern must also run on RE2 (values over MAX_PATTERN_CHECKED_LENGTH and patterns with several
  // repetitions do), with the same meaning: no lookaround, backreferences or constructs RE2 reads otherwise.
  const source = re2Source(pattern);
  if (source === undefined)
    return 'pattern uses \\S inside a character class, or an empty class, which the linear-time engine reads otherwise';
  try {
    RE2JS.compile(source);
  } catch {
    return 'pattern uses a construct the linear-time engine lacks (lookaround, backreferences)';
  }
  return undefined;
}

/**
 * Whether a pattern holds two or more repetitions whose count can vary (`*`, `+`, `?`, `{n,}`, `{n,m}` with m > n).
 * Such a pattern can backtrack polynomially or worse, as \\d*\\d*\\d*x and \\d{0,32}\\d{0,32}\\d{0,32}x do, which no cheap
 * check of its shape rules out: it runs on RE2 (re2js), in time linear in the value. A pattern with one stays on the
 * native engine (at worst quadratic in a value of at most MAX_PATTERN_CHECKED_LENGTH characters), as the
 * catalogue's own do.
 */
export function runsOnLinearEngine(pattern: string): boolean {
  let variable = 0;
  for (let at = 0; at < pattern.length; at++) {
    const char = pattern[at];
    if (char === '\\') at++;
    else if (char === '[') at = classEnd(pattern, at);
    else if (char === '(' && pattern[at + 1] === '?')
      at++; // a group's `(?:`, `(?=`, `(?<name>`: not a quantifier
    else if (char === '*' || char === '+' || char === '?') variable++;
    else if (char === '{') {
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
      if (braces?.[2] !== undefined && (braces[3] === '' || Number(braces[3]) > Number(braces[1]))) variable++;
    }
  }
  return variable >= 2;
}

/** JavaScript's \\s (WhiteSpace and LineTerminator), as RE2 class members: RE2's own \\s is ASCII only. */
const JS_SPACE = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** JavaScript's `.` without the s flag: anything but a line terminator (RE2's `.` excludes only \\n). */
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

/**
 * A JavaScript (u-mode) pattern in RE2's syntax with the same meaning: code points as \\x{…} (RE2 has no \\uXXXX),
 * and JavaScript's `.`, \\s and \\S spelled out. Undefined for what cannot be spelled out simply: \\S inside a
 * character class, and the empty classes `[]` and `[^]`, which RE2 parses otherwise.
 */
function re2Source(pattern: string): string | undefined {
  let out = '';
  let inClass = false;
  for (let at = 0; at < pattern.length; at++) {
    const char = pattern[at]!;
    if (char === '\\') {
      const escape = /^\\u(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/.exec(pattern.slice(at));
      if (escape) {
        out += `\\x{${escape[1] ?? escape[2]}}`;
        at += escape[0].length - 1;
        continue;
      }
      const property = /^\\([pP])\{(?:Script|sc)=([A-Za-z_]+)\}/.exec(pattern.slice(at));
      if (property) {
        // RE2 names scripts without the Script= prefix.
        out += `\\${property[1]}{${property[2]}}`;
        at += property[0].length - 1;
        continue;
      }
      const next = pattern[at + 1];
      if (next === 's') out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
      else if (next === 'S') {
        if (inClass) return undefined;
        out += `[^${JS_SPACE}]`;
      } else out += pattern.slice(at, at + 2);
      at++;
    } else if (inClass) {
      if (char === ']') inClass = false;
      out += char;
    } else if (char === '[') {
      if (pattern.startsWith('[]', at) || pattern.startsWith('[^]', at)) return undefined;
      inClass = true;
      out += char;
      if (pattern[at + 1] === '^') {
        out += '^';
        at++;
      }
    } else out += char === '.' ? JS_DOT : char;
  }
  return out;
}

/**
 * Whether a group holding an alternative (`|`, at any depth) is repeated (`*`, `+`, `{n,}`, `{n,m}` with m > 1).
 * Its branches may match the same text, and then each repetition doubles the ways to fail. Refused whether or not
 * the branches overlap: a character class or an array of enum values says the same. Scans a valid u-mode pattern.
 */
function repeatsAlternatives(pattern: string): boolean {
  const openGroups: boolean[] = []; // per open group: whether it holds an alternative
  for (let at = 0; at < pattern.length; at++) {
    const char = pattern[at];
    if (char === '\\') at++;
    else if (char === '[') at = classEnd(pattern, at);
    else if (char === '(') openGroups.push(false);
    else if (char === '|' && openGroups.length) openGroups[openGroups.length - 1] = true;
    else if (char === ')') {
      const alternates = openGroups.pop() ?? false;
      if (alternates && repeatedAt(pattern, at + 1)) return true;
      if (alternates && openGroups.length) openGroups[openGroups.length - 1] = true;
    }
  }
  return false;
}

/** The index of the `]` closing the character class opened at `start` (in u mode a `[` inside is literal). */
function classEnd(pattern: string, start: number): number {
  let at = start + 1;
  while (at < pattern.length && pattern[at] !== ']') at += pattern[at] === '\\' ? 2 : 1;
  return at;
}

/** Whether a quantifier allowing more than one repetition starts at `at`. */
function repeatedAt(pattern: string, at: number): boolean {
  const next = pattern[at];
  if (next === '*' || next === '+') return true;
  const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
  if (!braces) return false;
  const most = braces[2] === undefined ? Number(braces[1]) : braces[3] === '' ? Infinity : Number(braces[3]);
  return most > 1;
}

/** Parses a definition (a seed file or an operator's request); every problem listed. */
export function parseLicenceTypeDefinition(value: unknown): { definition?: LicenceTypeDefinition; problems: Violation[] } {
  const parsed = licenceTypeSchema.safeParse(value);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    };
  }
  const problems = definitionProblems(parsed.data);
  return problems.length ? { problems } : { definition: parsed.data, problems };
}

// ajv-formats is CommonJS with a default export; under nodenext it arrives as the module namespace.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
/**
 * The RegExp engine Ajv runs patterns with: RE2 (linear time) for a pattern with several variable repetitions
 * (runsOnLinearEngine) and for any value over MAX_PATTERN_CHECKED_LENGTH characters, else the native one (faster
 * on short values). `toString` is Ajv's cache key for a compiled pattern.
 */
const boundedRegExp = Object.assign(
  (pattern: string, flags: string) => {
    const native = new RegExp(pattern, flags);
    // patternProblem made sure every pattern compiles on RE2 with its meaning.
    const linear = RE2JS.compile(re2Source(pattern)!);
    const test = runsOnLinearEngine(pattern)
      ? (value: string) => linear.matcher(value).find()
      : (value: string) => (value.length <= MAX_PATTERN_CHECKED_LENGTH ? native.test(value) : linear.matcher(value).find());
    return { test, toString: () => native.toString() };
  },
  { code: 'boundedRegExp' },
);
const configuredAjv = () => addFormats(new Ajv2020({ allErrors: true, strict: true, code: { regExp: boundedRegExp } }));
/** The JSON Schema 2020-12 meta-schema's $id: what a claims schema without `$schema` is checked against. */
const META_SCHEMA_ID = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Checks claim schemas against the 2020-12 meta-schema for every Ajv below. Each Ajv compiles that (large)
 * meta-schema the first time it checks a schema, which was most of the cost of loading the catalogue: one Ajv per
 * seed file and one per catalogue. This one compiles it once per process. It only validates (it never adds or
 * compiles a claims schema), so it keeps nothing from one check to the next.
 */
let metaSchemaChecker: Ajv2020 | undefined;

/**
 * A fresh Ajv, as configured above, whose meta-schema check (Ajv's validateSchema, which compile calls at the same
 * point as before) is the shared checker's: same options, same formats, so the same verdict and the same
 * "schema is invalid: …" error. A schema naming another meta-schema in `$schema` is checked by the Ajv itself.
 */
function newAjv(): Ajv2020 {
  const ajv = configuredAjv();
  const ownCheck = ajv.validateSchema.bind(ajv);
  ajv.validateSchema = (schema, throwOrLogError) => {
    const named = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
    if (named !== undefined && named !== META_SCHEMA_ID) return ownCheck(schema, throwOrLogError);
    metaSchemaChecker ??= configuredAjv();
    try {
      return metaSchemaChecker.validateSchema(schema, throwOrLogError);
    } finally {
      ajv.errors = metaSchemaChecker.errors;
    }
  };
  return ajv;
}

/** Reads the shipped catalogue/*.json files: the seed of the run-time catalogue. */
export function readSeedDefinitions(directory: string): LicenceTypeDefinition[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const { definition, problems } = parseLicenceTypeDefinition(JSON.parse(readFileSync(join(directory, file), 'utf8')));
      if (!definition)
        throw new Error(`Catalogue file ${file} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
      return definition;
    });
}

const logger = new Logger('Catalogue');

/**
 * The licence catalogue: every credential type the service can issue, with its JSON Schema compiled
 * once. Claims are validated in full at issuance; a presentation discloses a subset, so verification
 * validates only what is present (types and formats, not `required`). The run-time catalogue
 * (CatalogueService) swaps the whole content with `replace` when the table changes, so every holder of
 * this object sees created, versioned and retired types at once.
 */
export class Catalogue {
  /** Moves with every `replace`: what is derived from the content may be kept per revision. */
  revision = 0;
  private types = new Map<string, LicenceType>();
  private full = new Map<string, ValidateFunction>();
  private partial = new Map<string, ValidateFunction>();

  constructor(
    entries: Array<CatalogueEntry | LicenceTypeDefinition>,
    private readonly vctBaseUrl: string,
  ) {
    this.replace(entries);
  }

  static load(directory: string, vctBaseUrl: string): Catalogue {
    return new Catalogue(readSeedDefinitions(directory), vctBaseUrl);
  }

  /** The type a definition makes at a status and version (what `get` returns once it is loaded). */
  typeOf(definition: LicenceTypeDefinition, status: LicenceType['status'], version: number): LicenceType {
    return {
      ...definition,
      vct: `${this.vctBaseUrl}/vct/${definition.id}`,
      status,
      version,
      schemaDigest: schemaDigest(definition),
    };
  }

  /** Replaces the whole content (built aside, then swapped: a reader never sees half a catalogue). */
  replace(entries: Array<CatalogueEntry | LicenceTypeDefinition>): void {
    const ajv = newAjv();
    const types = new Map<string, LicenceType>();
    const full = new Map<string, ValidateFunction>();
    const partial = new Map<string, ValidateFunction>();
    for (const entry of entries) {
      const { definition, status = 'active', version = 1 } = 'definition' in entry ? entry : { definition: entry };
      // Stored definitions were checked when published, but perhaps by an older release, another replica or
      // department: one unsafe pattern must cost its own type, never the catalogue nor the event loop.
      const patternProblems = claimPatternProblems(definition.claims);
      if (patternProblems.length) {
        logger.error(
          { event: 'catalogue_type_refused', typeId: definition.id, version, problems: patternProblems },
          'catalogue type not loaded: its claims schema has an unsafe or invalid pattern',
        );
        continue;
      }
      if (types.has(definition.id)) throw new Error(`Duplicate catalogue type ${definition.id}`);
      const unknown = definition.selectivelyDisclosable.filter((claim) => !(claim in definition.claims.properties));
      if (unknown.length) throw new Error(`Catalogue type ${definition.id}: unknown disclosable claims ${unknown.join(', ')}`);
      types.set(definition.id, this.typeOf(definition, status, version));
      full.set(definition.id, ajv.compile(definition.claims));
      partial.set(definition.id, ajv.compile({ ...definition.claims, required: [] }));
    }
    this.types = types;
    this.full = full;
    this.partial = partial;
    this.revision++;
  }

  /** The types that may be issued (active); what OID4VCI metadata and the type list show. */
  list(): LicenceType[] {
    return this.all().filter((type) => type.status === 'active');
  }

  /** Every type, retired ones too: credentials issued before retirement still verify. */
  all(): LicenceType[] {
    return [...this.types.values()];
  }

  get(id: string): LicenceType | undefined {
    return this.types.get(id);
  }

  byVct(vct: string): LicenceType | undefined {
    return this.all().find((type) => type.vct === vct);
  }

  /**
   * The catalogue type named by a W3C `type` array: the type whose vcType is one of the entries besides
   * VerifiableCredential, else (unless `allowGeneric` is false) the generic VCDM 2.0 type (vcType
   * VerifiableCredential) when there is one. None when the array names two catalogue types: its issuer's
   * authorisation and its claims' schema could then be checked for one while a reader trusts the other.
   */
  byVcTypes(types: unknown, allowGeneric = true): LicenceType | undefined {
    const specifics = this.specificTypesNamed(types);
    if (specifics.length > 1) return undefined;
    const specific = specifics[0];
    if (specific || !allowGeneric) return specific;
    const names = Array.isArray(types) ? types : [types];
    if (!names.includes(GENERIC_VC_TYPE)) return undefined;
    return this.all().find((type) => type.vcType === GENERIC_VC_TYPE);
  }

  /** The catalogue types (other than the generic one) a W3C `type` array names. */
  specificTypesNamed(types: unknown): LicenceType[] {
    const names = Array.isArray(types) ? types : [types];
    return this.all().filter((type) => type.vcType !== GENERIC_VC_TYPE && names.includes(type.vcType));
  }

  /** Every violation of the type's claim schema; `partial` allows claims to be absent (selective disclosure). */
  validateClaims(typeId: string, claims: unknown, mode: 'full' | 'partial' = 'full'): Violation[] {
    const validate = (mode === 'full' ? this.full : this.partial).get(typeId);
    if (!validate) return [{ path: '(root)', message: `unknown credential type ${typeId}` }];
    if (validate(claims)) return [];
    return (validate.errors ?? []).map((error) => ({
      path:
        [
          error.instancePath.replace(/^\//, '').replaceAll('/', '.'),
          error.params['missingProperty'] ?? error.params['additionalProperty'],
        ]
          .filter((part) => part !== undefined && part !== '')
          .join('.') || '(root)',
      message: error.message ?? 'is invalid',
    }));
  }
}
