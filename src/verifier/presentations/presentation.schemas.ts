import { z } from 'zod';
import { isoTimestamp, uuidSchema } from '../../common/index.js';
import { RESPONSE_MODES } from '../../oid4vp/index.js';

export const createRequestSchema = z.object({
  dcql_query: z.record(z.string(), z.unknown()),
  response_mode: z.enum(RESPONSE_MODES).default('direct_post.jwt'),
  /** Same-device flow: where the wallet sends the citizen back after answering. */
  redirect_uri: z
    .url()
    .max(2000)
    .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL')
    // RFC 6749 §3.1.2: no fragment; the response_code appended to the query would otherwise land inside it.
    .refine((value) => !value.includes('#'), 'must not carry a fragment')
    .optional(),
});

// Response bodies, for the OpenAPI document.

export const createdRequestSchema = z.object({
  id: uuidSchema,
  link: z.string().describe('openid4vp:// link for the wallet (request_uri, or the request by value)'),
  clientId: z.string(),
  expiresAt: isoTimestamp,
  deskUrl: z.url().describe('the desk page; holds only the view token'),
  viewToken: z.string(),
  dataSharing: z
    .array(z.object({ queryId: z.string(), permissionId: z.string(), purpose: z.string() }))
    .describe('the consortium data-sharing permissions the request rests on (ADR 15), shown to the holder'),
  qr: z.object({ png: z.string().describe('data: URL'), svg: z.string() }),
});

const checkSchema = z.object({
  check: z.string(),
  passed: z.boolean(),
  reason: z.string().optional(),
  anchored: z.boolean().optional(),
  trustedBy: z.string().optional().describe('issuer_authorised: what vouched for the issuer'),
  violations: z
    .array(z.object({ path: z.string(), rule: z.string(), message: z.string() }))
    .optional()
    .describe('data_model: the VCDM 2.0 violations found (at most 100)'),
  forAnotherRequest: z
    .literal(true)
    .optional()
    .describe('holder_binding: the proof names another request (nonce or audience): the whole response was refused'),
  problemType: z
    .string()
    .optional()
    .describe('status, when failed: the Bitstring Status List error type (STATUS_RETRIEVAL_ERROR, …) or RANGE_ERROR'),
});

const verdictSchema = z.object({
  verified: z.boolean(),
  reason: z.string().optional(),
  credentials: z.array(
    z.object({
      queryId: z.string(),
      type: z.string().optional(),
      issuer: z.string().optional(),
      claims: z.record(z.string(), z.unknown()).optional().describe('only the requested claims that were disclosed'),
      checks: z.array(checkSchema).optional(),
      discarded: z
        .literal(true)
        .optional()
        .describe(
          'left out (OID4VP 1.0 §8.6), in a verified or a rejected verdict: it failed its own checks or its query criteria (only queryId and checks are kept)',
        ),
    }),
  ),
  discarded: z
    .array(z.string())
    .optional()
    .describe('presentations of a verified response that failed their own checks and were left out (OID4VP 1.0 §8.6)'),
});

export const verdictViewSchema = z.object({
  id: uuidSchema,
  status: z.enum(['pending', 'verified', 'rejected', 'expired']),
  result: verdictSchema.optional().describe('absent until answered, once purged, or without the response_code'),
  responseCodeRequired: z.literal(true).optional().describe('same-device: show the response_code to read the verdict'),
  resultPurged: z.literal(true).optional(),
  completedAt: isoTimestamp.nullable(),
});

export const responseAcceptedSchema = z.object({
  redirect_uri: z.string().optional().describe('same-device flow: where the wallet sends the citizen back'),
});
