import { z } from 'zod';
import { isoTimestamp } from '../../common/index.js';
import { CATALOGUE_FORMATS, licenceTypeSchema } from '../../credentials/index.js';

/** Response bodies of the operator catalogue routes. */

const display = z.object({ name: z.string(), description: z.string().optional() });

export const credentialTypeSchema = z
  .object({
    id: z.string().meta({ example: 'fishing-permit' }),
    vcType: z.string().meta({ example: 'FishingPermitCredential' }),
    catalogueCode: z.string().optional().meta({ description: 'Licence catalogue code (证照目录编码)' }),
    holderType: z.enum(['natural', 'legal']),
    display: z.object({ en: display, 'zh-CN': display }),
    validityDays: z.number().int(),
    formats: z.array(z.enum(CATALOGUE_FORMATS)),
    selectivelyDisclosable: z.array(z.string()),
    multipleSubjects: z.boolean(),
    claims: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema (2020-12) of the subject claims' }),
    vct: z.string().meta({ description: 'SD-JWT VC type; its type metadata is served there' }),
    status: z.enum(['active', 'retired']),
    version: z.number().int(),
    schemaDigest: z.string().meta({ description: 'SHA-256 (hex) of the canonical definition' }),
  })
  .meta({ id: 'CredentialType' });

export const credentialTypeDetailSchema = credentialTypeSchema
  .extend({
    versions: z.array(
      z.object({ version: z.number().int(), schemaDigest: z.string(), publishedBy: z.string(), createdAt: isoTimestamp }),
    ),
  })
  .meta({ id: 'CredentialTypeWithVersions' });

/** The request body of create (and, without `id`, of a new version). */
export const credentialTypeInputSchema = licenceTypeSchema;
export const credentialTypeVersionInputSchema = licenceTypeSchema.omit({ id: true });
