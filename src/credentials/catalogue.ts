import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import type { Violation } from '../common/index.js';

export const CREDENTIAL_FORMATS = ['dc+sd-jwt', 'jwt_vc_json'] as const;
export type CredentialFormat = (typeof CREDENTIAL_FORMATS)[number];

const localisedDisplay = z.object({ name: z.string().min(1), description: z.string().optional() });

/** One licence or identity credential type, defined as data in catalogue/<id>.json. */
const licenceTypeSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,62}$/),
  vcType: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
  display: z.object({ en: localisedDisplay, 'zh-CN': localisedDisplay }),
  validityDays: z.number().int().positive().max(36_500),
  formats: z.array(z.enum(CREDENTIAL_FORMATS)).min(1),
  selectivelyDisclosable: z.array(z.string()),
  claims: z.object({
    type: z.literal('object'),
    properties: z.record(z.string(), z.record(z.string(), z.unknown())),
    required: z.array(z.string()).default([]),
    additionalProperties: z.literal(false),
  }),
});

export type LicenceTypeDefinition = z.infer<typeof licenceTypeSchema>;

export interface LicenceType extends LicenceTypeDefinition {
  /** SD-JWT VC type identifier; also where the type metadata is served. */
  vct: string;
}

// ajv-formats is CommonJS with a default export; under nodenext it arrives as the module namespace.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/**
 * The licence catalogue: every credential type the service can issue, with its JSON Schema compiled
 * once. Claims are validated in full at issuance; a presentation discloses a subset, so verification
 * validates only what is present (types and formats, not `required`).
 */
export class Catalogue {
  private readonly types = new Map<string, LicenceType>();
  private readonly full = new Map<string, ValidateFunction>();
  private readonly partial = new Map<string, ValidateFunction>();

  constructor(definitions: LicenceTypeDefinition[], vctBaseUrl: string) {
    const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
    for (const definition of definitions) {
      if (this.types.has(definition.id)) throw new Error(`Duplicate catalogue type ${definition.id}`);
      const unknown = definition.selectivelyDisclosable.filter((claim) => !(claim in definition.claims.properties));
      if (unknown.length) throw new Error(`Catalogue type ${definition.id}: unknown disclosable claims ${unknown.join(', ')}`);
      this.types.set(definition.id, { ...definition, vct: `${vctBaseUrl}/vct/${definition.id}` });
      this.full.set(definition.id, ajv.compile(definition.claims));
      this.partial.set(definition.id, ajv.compile({ ...definition.claims, required: [] }));
    }
  }

  static load(directory: string, vctBaseUrl: string): Catalogue {
    const definitions = readdirSync(directory)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => {
        const parsed = licenceTypeSchema.safeParse(JSON.parse(readFileSync(join(directory, file), 'utf8')));
        if (!parsed.success) throw new Error(`Catalogue file ${file} is invalid: ${parsed.error.message}`);
        return parsed.data;
      });
    return new Catalogue(definitions, vctBaseUrl);
  }

  list(): LicenceType[] {
    return [...this.types.values()];
  }

  get(id: string): LicenceType | undefined {
    return this.types.get(id);
  }

  byVct(vct: string): LicenceType | undefined {
    return this.list().find((type) => type.vct === vct);
  }

  /** The catalogue type named by a W3C `type` array (the one entry besides VerifiableCredential). */
  byVcTypes(types: unknown): LicenceType | undefined {
    const names = Array.isArray(types) ? types : [types];
    return this.list().find((type) => names.includes(type.vcType));
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
