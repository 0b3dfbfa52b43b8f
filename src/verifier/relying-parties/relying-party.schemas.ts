import { z } from 'zod';
import { isoTimestamp, uuidSchema } from '../../common/index.js';
import { CLIENT_ID_PREFIXES } from '../../oid4vp/index.js';

export const registerRelyingPartySchema = z.object({
  name: z.string().trim().min(1).max(200),
  purpose: z.string().trim().min(1).max(500),
  allowedClaims: z
    .record(z.string(), z.array(z.string().min(1)).min(1))
    .describe('catalogue type id → claim names it may ask for'),
  clientIdPrefix: z.enum(CLIENT_ID_PREFIXES).default('decentralized_identifier'),
  webhookUrl: z.url().max(500).optional(),
});

// Response bodies, for the OpenAPI document.

export const relyingPartyViewSchema = z.object({
  id: uuidSchema,
  name: z.string(),
  purpose: z.string(),
  allowedClaims: z.record(z.string(), z.array(z.string())),
  clientIdPrefix: z.enum(CLIENT_ID_PREFIXES),
  webhookUrl: z.string().nullable(),
});

export const registeredRelyingPartySchema = z.object({
  relyingParty: relyingPartyViewSchema.extend({
    clientId: z.string().describe('the full client_id wallets see, prefix included'),
    certificate: z.string().optional().describe('x509_san_dns and x509_hash: the self-signed certificate, base64 DER'),
  }),
  apiKey: z.string().describe('rpk_… bearer key; shown once'),
  webhookSecret: z.string().optional().describe('HMAC key of webhook signatures; shown once'),
});

export const relyingPartyListSchema = z.array(
  relyingPartyViewSchema.extend({
    clientId: z.string().describe('the full client_id wallets see, prefix included'),
    createdAt: isoTimestamp,
  }),
);

export const issuedApiKeySchema = z.object({
  apiKey: z.string().describe('rpk_… bearer key; shown once'),
  prefix: z.string(),
});

export const apiKeyListSchema = z.array(
  z.object({ prefix: z.string(), createdAt: isoTimestamp, revokedAt: isoTimestamp.nullable() }),
);
