import { z } from 'zod';

/**
 * The DID resolution result as the DID controller answers it (W3C DID Resolution, the Universal
 * Resolver's HTTP binding). The DID document is did:ethr's as ethr-did-resolver builds it; members this
 * schema does not name are allowed. (No component ids: the schema is inlined in a `content` entry.)
 */
const verificationMethodSchema = z
  .object({
    id: z.string(),
    type: z.string().meta({ example: 'EcdsaSecp256k1RecoveryMethod2020' }),
    controller: z.string(),
    blockchainAccountId: z.string().optional(),
    publicKeyHex: z.string().optional(),
    publicKeyJwk: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

const relationshipSchema = z.array(z.union([z.string(), verificationMethodSchema]));

export const didDocumentSchema = z
  .object({
    '@context': z.union([z.string(), z.array(z.unknown())]).optional(),
    id: z.string(),
    verificationMethod: z.array(verificationMethodSchema).optional(),
    authentication: relationshipSchema.optional(),
    assertionMethod: relationshipSchema.optional(),
    service: z.array(z.object({ id: z.string(), type: z.string(), serviceEndpoint: z.unknown() }).loose()).optional(),
  })
  .loose();

export const didResolutionResultSchema = z.object({
  '@context': z.literal('https://w3id.org/did-resolution/v1'),
  didDocument: didDocumentSchema.nullable(),
  didResolutionMetadata: z
    .object({
      contentType: z.string().optional(),
      error: z.enum(['invalidDid', 'methodNotSupported', 'notFound']).optional().meta({
        description: 'Present when there is no document: 400 for invalidDid and methodNotSupported, 404 for notFound',
      }),
      message: z.string().optional(),
    })
    .loose(),
  didDocumentMetadata: z
    .object({
      versionId: z.string().optional(),
      updated: z.string().optional(),
      nextVersionId: z.string().optional(),
      nextUpdate: z.string().optional(),
      deactivated: z.boolean().optional(),
    })
    .loose(),
});
