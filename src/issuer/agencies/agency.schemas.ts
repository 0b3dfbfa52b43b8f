import { z } from 'zod';
import { ethereumAddressSchema, isoTimestamp } from '../../common/index.js';
import { CONTRACT_NAMES, OUTBOX_STATUSES } from '../../chain/index.js';

/**
 * Response bodies of the operator and agency routes. The service's return types are inferred from these
 * schemas, so the OpenAPI document cannot describe another shape than the one the code returns.
 */

const ethereumAddress = ethereumAddressSchema;

export const publicEcJwkSchema = z
  .object({ kty: z.literal('EC'), crv: z.enum(['P-256', 'secp256k1']), x: z.string(), y: z.string() })
  .meta({ id: 'PublicEcJwk', description: 'A public EC key; never a private member' });

export const chainWriteSummarySchema = z.object({
  purpose: z.string().meta({ example: 'did:set-attribute' }),
  status: z.enum(OUTBOX_STATUSES),
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nullable(),
});

export const agencyViewSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    did: z.string().meta({ example: 'did:ethr:govchain:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4' }),
    status: z.enum(['anchoring', 'active']).meta({ description: 'active once its DID document is anchored on chain' }),
    signingKid: z.string().nullable().meta({ description: 'Verification method id of the signing key; null until active' }),
    signingKey: publicEcJwkSchema,
    didKey: z.string().meta({
      description: 'The did:key of the signing key: an issuer its Data Integrity credentials may name (ADR 40)',
      example: 'did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169',
    }),
    serviceEndpoint: z.string(),
    createdAt: isoTimestamp,
    chainWrites: z.array(chainWriteSummarySchema).meta({ description: 'The writes that anchor its DID document' }),
  })
  .meta({ id: 'Agency' });
export type AgencyView = z.infer<typeof agencyViewSchema>;

export const createdAgencySchema = z
  .object({
    agency: agencyViewSchema,
    apiKey: z.string().meta({ description: 'The first API key (chy_<prefix>_<secret>); shown once, stored as a digest' }),
  })
  .meta({ id: 'CreatedAgency' });

export const issuedApiKeySchema = z
  .object({ apiKey: z.string().meta({ description: 'chy_<prefix>_<secret>; shown once, stored as a digest' }) })
  .meta({ id: 'IssuedApiKey' });

export const agencyApiKeyListSchema = z
  .array(
    z.object({
      prefix: z.string().meta({ description: 'The public part of the key (chy_<prefix>_…): what revocation takes' }),
      label: z.string(),
      createdAt: isoTimestamp,
      revokedAt: isoTimestamp.nullable(),
    }),
  )
  .meta({ id: 'AgencyApiKeyList' });

export const chainInfoSchema = z
  .object({
    chainId: z.number().int(),
    networkName: z.string(),
    registry: ethereumAddress.meta({ description: 'The ERC-1056 registry did:ethr resolves against' }),
    contracts: z.object(
      Object.fromEntries(CONTRACT_NAMES.map((name) => [name, ethereumAddress])) as Record<string, typeof ethereumAddress>,
    ),
    auditAnchor: ethereumAddress.meta({ description: 'The AuditAnchor contract the audit-log roots go to (ADR 16)' }),
    consortium: z
      .object({
        governance: ethereumAddress,
        issuerRegistry: ethereumAddress,
        catalogue: ethereumAddress,
        dataSharing: ethereumAddress,
        jointApproval: ethereumAddress,
      })
      .meta({ description: 'The consortium this department follows (ADR 15): its governance and governed registries' }),
  })
  .meta({ id: 'ChainInfo' });
export type ChainInfo = z.infer<typeof chainInfoSchema>;

export const outboxCountsSchema = z
  .object(
    Object.fromEntries(OUTBOX_STATUSES.map((status) => [status, z.number().int().nonnegative()])) as Record<
      (typeof OUTBOX_STATUSES)[number],
      z.ZodNumber
    >,
  )
  .meta({ id: 'OutboxCounts', description: 'Chain writes on the connected chain by status' });
