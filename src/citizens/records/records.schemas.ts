import { z } from 'zod';
import { isoTimestamp } from '../../common/index.js';

export const startedRecordsSchema = z
  .object({
    id: z.string(),
    link: z.string().meta({ description: 'openid4vp:// link for the wallet (same device)' }),
    qrSvg: z.string().meta({ description: 'The link as a QR code (cross-device)' }),
    readToken: z.string().meta({ description: 'Capability to read the outcome; keep it in the page' }),
    expiresAt: isoTimestamp,
  })
  .meta({ id: 'RecordsRequest' });

export const recordsOutcomeSchema = z
  .object({
    status: z.enum(['pending', 'expired', 'rejected', 'verified']),
    reason: z.string().optional(),
    credential: z.object({ type: z.string(), issuer: z.string() }).optional(),
    records: z
      .array(
        z.object({
          at: isoTimestamp,
          relyingParty: z.object({ id: z.string(), name: z.string() }),
          purpose: z.string(),
          claims: z.array(z.string()).meta({ description: 'Names of the disclosed claims (never their values)' }),
          verified: z.boolean(),
          auditSeq: z.number().int().nullable().meta({ description: 'The audit entry of this verdict' }),
        }),
      )
      .optional(),
  })
  .meta({ id: 'RecordsOutcome' });
