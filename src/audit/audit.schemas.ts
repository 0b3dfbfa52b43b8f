import { z } from 'zod';
import { isoTimestamp } from '../common/index.js';

const hex32 = z.string().meta({ description: '0x-prefixed 32-byte hex' });

export const auditAnchorSchema = z.object({
  id: z.string(),
  fromSeq: z.number().int(),
  toSeq: z.number().int(),
  root: hex32,
  department: z.string().meta({ description: 'The anchoring account (the AuditAnchor series it belongs to)' }),
  contract: z.string().meta({ description: 'AuditAnchor contract address' }),
  status: z.enum(['pending', 'mined', 'reverted']),
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nullable(),
  createdAt: isoTimestamp,
});

/** One audit entry with its inclusion proof in the anchored range that covers it. */
export const auditEntryViewSchema = z
  .object({
    entry: z.object({
      seq: z.number().int(),
      at: isoTimestamp,
      kind: z.string(),
      actor: z.string(),
      subject: z.string(),
      data: z.record(z.string(), z.unknown()),
      prevHash: z.string().meta({ description: 'SHA-256 hex of the previous entry (64 zeros for the first)' }),
      entryHash: z.string().meta({ description: 'SHA-256 hex over the canonical entry, prevHash included' }),
    }),
    leaf: hex32.meta({ description: 'keccak256(keccak256(abi.encode(uint64 seq, bytes32 entryHash)))' }),
    proof: z.array(hex32).meta({ description: 'OpenZeppelin MerkleProof siblings, leaf to root' }).nullable(),
    anchor: auditAnchorSchema.nullable(),
  })
  .meta({ id: 'AuditEntryView' });

export const anchorRefusalSchema = z.object({
  at: isoTimestamp,
  fromSeq: z.number().int().meta({ description: 'Where the anchored ranges recorded in the database end, + 1' }),
  expected: z.number().int().meta({ description: "The contract's nextSequence for this department" }),
  department: z.string(),
  contract: z.string().meta({ description: 'AuditAnchor contract address' }),
});

export const anchorRunSchema = z
  .object({
    anchor: auditAnchorSchema.nullable().meta({ description: 'The range queued now; null when nothing was' }),
    refused: anchorRefusalSchema.nullable().meta({
      description:
        'Set when nothing was queued because the database and the contract disagree on where the next range starts (a reset chain, a restored backup): an operator has to look',
    }),
  })
  .meta({ id: 'AuditAnchorRun' });

export type AnchorRefusalView = z.infer<typeof anchorRefusalSchema>;

export type AuditAnchorView = z.infer<typeof auditAnchorSchema>;
export type AuditEntryView = z.infer<typeof auditEntryViewSchema>;
