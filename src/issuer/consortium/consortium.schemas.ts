import { z } from 'zod';
import { PROPOSAL_KINDS, PROPOSAL_STATES } from '../../chain/index.js';
import { ethereumAddressSchema } from '../../common/index.js';

/** Request and response bodies of the consortium operator routes (ADR 15). */

const ethereumAddress = ethereumAddressSchema;
const departmentName = z
  .string()
  .trim()
  .min(1)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= 64, 'at most 64 bytes');
const typeId = z.string().trim().min(1).max(100).meta({ description: 'A catalogue credential type id, e.g. driving-licence' });
const decimalId = z.string().regex(/^[1-9][0-9]{0,30}$/, 'a proposal or permission id');

export const initConsortiumSchema = z.object({
  founders: z
    .array(z.object({ member: ethereumAddress, name: departmentName }))
    .max(49)
    .default([]),
  threshold: z.number().int().min(1).max(50),
  departmentName: departmentName.optional(),
});

export const joinConsortiumSchema = z.object({ governance: ethereumAddress });

/** proposal:list's query: a page before an id, and/or only the proposals still open to votes. */
export const proposalListQuerySchema = z.object({
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,30}$/, 'a proposal id')
    .optional(),
  state: z.literal('open').optional(),
});

/** What an operator may propose; the service maps catalogue ids to registry keys. */
export const createProposalSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('AddMember'), member: ethereumAddress, name: departmentName }),
    z.object({ kind: z.literal('RemoveMember'), member: ethereumAddress }),
    z.object({ kind: z.literal('ChangeThreshold'), threshold: z.number().int().min(1).max(50) }),
    z.object({
      kind: z.enum(['AuthoriseIssuer', 'WithdrawIssuer']),
      issuer: z.string().trim().min(1).max(200).meta({ description: '0x address, did:ethr, or an agency id or slug of ours' }),
      credentialType: typeId,
    }),
    z.object({
      kind: z.literal('PublishType'),
      credentialType: typeId,
      schemaDigest: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
      version: z.number().int().min(1).max(4_294_967_295),
    }),
    z.object({ kind: z.literal('RetireType'), credentialType: typeId }),
    z.object({
      kind: z.literal('GrantPermission'),
      relyingParty: z.string().trim().min(1).max(200).meta({ description: 'The relying party DID or organisation id' }),
      clientId: z.string().trim().min(1).max(500).meta({ description: 'The client_id as in its OID4VP requests' }),
      credentialType: typeId,
      claims: z.array(z.string().trim().min(1).max(100)).min(1).max(50),
      purpose: z
        .string()
        .trim()
        .min(1)
        .refine((value) => Buffer.byteLength(value, 'utf8') <= 512, 'at most 512 bytes'),
      expiresAt: z.number().int().positive().meta({ description: 'Unix seconds; the permission lapses then' }),
    }),
    z.object({ kind: z.literal('WithdrawPermission'), permissionId: decimalId }),
    z.object({
      kind: z.literal('SetApprovalPolicy'),
      credentialType: typeId,
      issuingDepartment: ethereumAddress.meta({ description: 'Controller address of the department that submits applications' }),
      issuingAgency: z
        .string()
        .trim()
        .min(1)
        .max(200)
        .meta({ description: 'The agency that issues once approved: 0x address, did:ethr, or an agency id or slug of ours' }),
      departments: z.array(ethereumAddress).min(1).max(16).meta({ description: 'Controller addresses whose decisions count' }),
      required: z.number().int().min(1).max(16).optional().meta({ description: 'Approvals needed (M of the list); default all' }),
      decisionPeriodSeconds: z
        .number()
        .int()
        .min(0)
        .max(365 * 86_400)
        .default(0)
        .meta({ description: 'Seconds from submission until decisions close; 0 for no deadline' }),
    }),
    z.object({ kind: z.literal('RetireApprovalPolicy'), policyId: decimalId }),
  ])
  .and(z.object({ lifetimeDays: z.number().int().min(1).max(90).default(14) }));
export type CreateProposal = z.infer<typeof createProposalSchema>;

export const consortiumStatusSchema = z
  .object({
    governance: ethereumAddress,
    issuerRegistry: ethereumAddress,
    catalogue: ethereumAddress,
    dataSharing: ethereumAddress,
    jointApproval: ethereumAddress,
    department: z.object({ controller: ethereumAddress, member: z.boolean(), name: z.string().nullable() }),
    members: z.array(z.object({ address: ethereumAddress, name: z.string() })),
    threshold: z.number().int(),
    proposalCount: z.number().int(),
    configured: z.boolean(),
  })
  .meta({ id: 'ConsortiumStatus' });

export const proposalViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(PROPOSAL_STATES),
    action: z.looseObject({ kind: z.enum(PROPOSAL_KINDS) }),
    proposer: ethereumAddress,
    createdAt: z.number().int(),
    expiresAt: z.number().int(),
    executedAt: z.number().int(),
    approvals: z.number().int(),
    voters: z.array(ethereumAddress),
  })
  .meta({ id: 'ConsortiumProposal' });

export const governanceWriteSchema = z
  .object({
    outboxId: z.string(),
    status: z.enum(['mined', 'pending']),
    txHash: z.string().nullable(),
    proposalId: z.string().nullable(),
    executed: z.boolean().nullable(),
  })
  .meta({ id: 'GovernanceWrite', description: 'A proposal or vote sent through the outbox, signed by our controller' });

export const approvalPolicySchema = z
  .object({
    policyId: z.string(),
    credentialType: z.string().meta({ description: 'bytes32 registry key of the catalogue type' }),
    typeId: z.string().nullable().meta({ description: 'The catalogue type id, when this department knows the type' }),
    issuingDepartment: ethereumAddress,
    issuingAgency: ethereumAddress,
    departments: z.array(ethereumAddress),
    required: z.number().int(),
    decisionPeriod: z.number().int(),
    createdAt: z.number().int(),
    active: z.boolean(),
  })
  .meta({ id: 'ApprovalPolicy', description: 'A joint-approval policy as the JointApproval contract holds it' });
