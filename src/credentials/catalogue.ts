import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import type { Violation } from '../common/index.js';

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

/** Problems of a definition beyond its shape: disclosable claims must exist, and the schema must compile. */
export function definitionProblems(definition: LicenceTypeDefinition): Violation[] {
  const problems: Violation[] = [];
  for (const claim of definition.selectivelyDisclosable) {
    if (!(claim in definition.claims.properties))
      problems.push({ path: 'selectivelyDisclosable', message: `unknown claim ${claim}` });
  }
  for (const claim of definition.claims.required) {
    if (!(claim in definition.claims.properties)) problems.push({ path: 'claims.required', message: `unknown claim ${claim}` });
  }
  try {
    newAjv().compile(definition.claims);
  } catch (error) {
    problems.push({ path: 'claims', message: `not a valid JSON Schema: ${(error as Error).message}` });
  }
  return problems;
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
const configuredAjv = () => addFormats(new Ajv2020({ allErrors: true, strict: true }));
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

  /** Replaces the whole content (built aside, then swapped: a reader never sees half a catalogue). */
  replace(entries: Array<CatalogueEntry | LicenceTypeDefinition>): void {
    const ajv = newAjv();
    const types = new Map<string, LicenceType>();
    const full = new Map<string, ValidateFunction>();
    const partial = new Map<string, ValidateFunction>();
    for (const entry of entries) {
      const { definition, status = 'active', version = 1 } = 'definition' in entry ? entry : { definition: entry };
      if (types.has(definition.id)) throw new Error(`Duplicate catalogue type ${definition.id}`);
      const unknown = definition.selectivelyDisclosable.filter((claim) => !(claim in definition.claims.properties));
      if (unknown.length) throw new Error(`Catalogue type ${definition.id}: unknown disclosable claims ${unknown.join(', ')}`);
      types.set(definition.id, {
        ...definition,
        vct: `${this.vctBaseUrl}/vct/${definition.id}`,
        status,
        version,
        schemaDigest: schemaDigest(definition),
      });
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
   * VerifiableCredential) when there is one.
   */
  byVcTypes(types: unknown, allowGeneric = true): LicenceType | undefined {
    const names = Array.isArray(types) ? types : [types];
    const specific = this.all().find((type) => type.vcType !== GENERIC_VC_TYPE && names.includes(type.vcType));
    if (specific || !allowGeneric) return specific;
    if (!names.includes(GENERIC_VC_TYPE)) return undefined;
    return this.all().find((type) => type.vcType === GENERIC_VC_TYPE);
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
