import { z } from 'zod';
import { ethereumAddressSchema } from '../../common/index.js';
import { CREDENTIAL_FORMATS } from '../../credentials/index.js';
import { APPLICATION_STATES, STEP_KINDS } from './approval.entity.js';
import { REASON_CODE_PATTERN } from '../../config/index.js';

/** Request and response bodies of the joint-approval routes (issue 16, ADR 17). */

const address = ethereumAddressSchema;
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

export const createApplicationSchema = z.object({
  type: z.string().min(1).max(64).describe('catalogue type id with an active joint-approval policy, e.g. business-licence'),
  formats: z.array(z.enum(CREDENTIAL_FORMATS)).min(1).max(2).default(['dc+sd-jwt']),
  claims: z.record(z.string(), z.unknown()),
  txCode: z.boolean().default(true).describe('require a PIN for the credential offer, delivered to the applicant out of band'),
  flow: z
    .enum(['pre-authorized_code', 'authorization_code'])
    .default('pre-authorized_code')
    .describe('authorization_code: the applicant signs in through the CitizenAuthenticator (login code in the demo)'),
});

export const decisionSchema = z
  .object({
    approve: z.boolean(),
    reasonCode: z
      .string()
      .regex(
        REASON_CODE_PATTERN,
        'a short code: lowercase letters, digits (at most three in a row), . _ -; at most 31 characters',
      )
      .optional()
      .describe('required for a rejection; never personal data'),
  })
  .refine((value) => value.approve || value.reasonCode, { message: 'a rejection needs a reasonCode', path: ['reasonCode'] });

export const timelineStepSchema = z.object({
  step: z.enum(STEP_KINDS),
  department: address.nullable(),
  decision: z.enum(['approve', 'reject']).nullable(),
  reasonCode: z.string().nullable(),
  configurationId: z.string().nullable().describe('issued: the credential configuration issued'),
  txHash: z.string().nullable().describe('the chain transaction of the step (null for issued)'),
  blockNumber: z.number().int().nullable(),
  at: z.string().describe('when this department recorded the step'),
});

export const applicationViewSchema = z
  .object({
    reference: z.string(),
    applicationId: bytes32,
    typeId: z.string(),
    policyId: z.string(),
    state: z.enum(APPLICATION_STATES),
    reasonCodes: z.array(z.string()),
    createdAt: z.string(),
    timeline: z.array(timelineStepSchema),
  })
  .meta({ id: 'ApprovalApplication' });

export const createdApplicationSchema = applicationViewSchema
  .extend({
    readToken: z.string().describe('shown once: the applicant polls GET /approvals/{reference} with it as a bearer token'),
    offer: z.object({
      offerId: z.string(),
      credentialOffer: z.string().describe('openid-credential-offer:// link; the credential request is deferred until approved'),
      txCode: z.string().optional(),
      loginCode: z.string().optional().describe('authorization code flow: the applicant signs in with it'),
      expiresAt: z.string(),
    }),
    outboxId: z.string(),
  })
  .meta({ id: 'CreatedApprovalApplication' });

export const inboxEntrySchema = z
  .object({
    applicationId: bytes32,
    policyId: z.string(),
    credentialType: bytes32,
    typeId: z.string().nullable(),
    issuingDepartment: address,
    submittedAt: z.number().int(),
    deadline: z.number().int(),
    approvals: z.number().int(),
    required: z.number().int(),
    txHash: z.string(),
    blockNumber: z.number().int(),
  })
  .meta({ id: 'ApprovalInboxEntry' });

export const departmentViewSchema = inboxEntrySchema
  .extend({
    outcome: z.enum(['Pending', 'Approved', 'Rejected', 'Expired']),
    departments: z.array(address),
    decisions: z.array(
      z.object({
        department: address,
        decision: z.enum(['None', 'Approve', 'Reject']),
        reasonCode: z.string(),
        decidedAt: z.number(),
      }),
    ),
    timeline: z.array(timelineStepSchema),
    content: z
      .object({ typeId: z.string(), formats: z.array(z.string()), claims: z.record(z.string(), z.unknown()) })
      .nullable()
      .describe('from the issuing department over the authenticated peer API; null when it could not be fetched'),
    contentError: z.string().nullable(),
  })
  .meta({ id: 'ApprovalDepartmentView' });

export const decisionResultSchema = z
  .object({
    outboxId: z.string(),
    status: z.enum(['mined', 'pending']),
    txHash: z.string().nullable(),
    blockNumber: z.number().int().nullable(),
    outcome: z.enum(['Pending', 'Approved', 'Rejected', 'Expired']).nullable(),
  })
  .meta({ id: 'ApprovalDecision', description: 'A decision sent through the outbox, signed by our controller' });

export const peerContentSchema = z
  .object({
    applicationId: bytes32,
    salt: bytes32,
    content: z.object({ typeId: z.string(), formats: z.array(z.string()), claims: z.record(z.string(), z.unknown()) }),
  })
  .meta({ id: 'ApprovalContent', description: 'The sealed application content, for a required department' });
