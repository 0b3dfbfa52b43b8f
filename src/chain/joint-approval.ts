import { concat, decodeBytes32String, encodeBytes32String, getAddress, keccak256, ZeroHash, type Log, type Result } from 'ethers';
import { contractInterface } from './contracts.js';
import { REASON_CODE_PATTERN } from '../config/index.js';

/** ABI bindings for contracts/JointApproval.sol (ADR 11, issue 16): pure encoders and decoders, no I/O. */
const approval = () => contractInterface('JointApproval');

/** A joint-approval policy for one credential type, set by consortium governance. */
export interface PolicyTerms {
  /** bytes32 key of the catalogue type (credentialTypeKey). */
  credentialType: string;
  /** Controller address of the department that submits applications. */
  issuingDepartment: string;
  /** did:ethr identity address of the agency that issues once approved. */
  issuingAgency: string;
  /** Controller addresses of the departments whose decisions count. */
  departments: string[];
  /** Approvals needed: departments.length for all of them, fewer for M of the list. */
  required: number;
  /** Seconds from submission until decisions close; 0 for no deadline. */
  decisionPeriod: number;
}

export const APPLICATION_OUTCOMES = ['None', 'Pending', 'Approved', 'Rejected', 'Expired'] as const;
export type ApplicationOutcome = (typeof APPLICATION_OUTCOMES)[number];
export const DECISIONS = ['None', 'Approve', 'Reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/** The reason Rejected carries when an application's deadline passed (the contract's DEADLINE_MISSED). */
export const DEADLINE_MISSED = 'deadline-missed';

export function policyTermsValue(terms: PolicyTerms): Record<string, unknown> {
  return { ...terms, departments: [...terms.departments] };
}

export function policyTermsFrom(value: Result): PolicyTerms {
  return {
    credentialType: value[0] as string,
    issuingDepartment: getAddress(value[1] as string),
    issuingAgency: getAddress(value[2] as string),
    departments: [...(value[3] as Result)].map((department) => getAddress(department as string)),
    required: Number(value[4]),
    decisionPeriod: Number(value[5]),
  };
}

/**
 * The on-chain id of an application: keccak256 of a 32-byte random salt and the application's content
 * (canonical bytes the issuing department keeps, sealed). Without the salt the content cannot be guessed
 * from the id, even when it comes from a small set (a trade, a district).
 */
export function applicationDigest(salt: Uint8Array, content: Uint8Array): string {
  if (salt.length !== 32) throw new Error('The salt must be 32 random bytes');
  return keccak256(concat([salt, content]));
}

/** A reason code (a short ASCII code, at most 31 characters) as the contract's bytes32. */
export function encodeReasonCode(code: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,30}$/.test(code)) throw new Error(`Invalid reason code ${JSON.stringify(code)}`);
  return encodeBytes32String(code);
}

/** The reason code back as text; '' for none; UNREADABLE_REASON_CODE for anything not of a reason code's form. */
export function decodeReasonCode(value: string): string {
  if (value === ZeroHash) return '';
  let decoded: string;
  try {
    decoded = decodeBytes32String(value);
  } catch {
    return UNREADABLE_REASON_CODE;
  }
  // The contract takes any 32 bytes from any required department (or a member key used directly): text that is not a
  // reason code's form (a name, an ID number) is not kept, shown to the applicant or written to our audit trail.
  return REASON_CODE_PATTERN.test(decoded) ? decoded : UNREADABLE_REASON_CODE;
}

/** What a decision's reason reads as when the chain holds something that is not a reason code. */
export const UNREADABLE_REASON_CODE = 'not-a-reason-code';

// ---- calls ----

export const submitCall = (applicationId: string, policyId: bigint): string =>
  approval().encodeFunctionData('submit', [applicationId, policyId]);

/** A department's decision; a rejection needs a reason code, an approval may carry one. */
export function decideCall(applicationId: string, approve: boolean, reasonCode = ''): string {
  const reason = reasonCode === '' ? ZeroHash : encodeReasonCode(reasonCode);
  return approval().encodeFunctionData('decide', [applicationId, approve, reason]);
}

export const expireCall = (applicationId: string): string => approval().encodeFunctionData('expire', [applicationId]);

// ---- reads ----

export interface ApplicationRecord {
  applicationId: string;
  policyId: bigint;
  submittedAt: number;
  /** Last second decisions are accepted; 0 for none. */
  deadline: number;
  approvals: number;
  outcome: ApplicationOutcome;
}

export interface DecisionRecord {
  department: string;
  decision: Decision;
  reasonCode: string;
  decidedAt: number;
}

export const applicationCall = (applicationId: string): string => approval().encodeFunctionData('application', [applicationId]);

/** The result of application(id); undefined when it was never submitted. */
export function decodeApplicationResult(applicationId: string, result: string): ApplicationRecord | undefined {
  const found = approval().decodeFunctionResult('application', result)[0] as Result;
  const outcome = APPLICATION_OUTCOMES[Number(found[4])]!;
  if (outcome === 'None') return undefined;
  return {
    applicationId,
    policyId: found[0] as bigint,
    submittedAt: Number(found[1]),
    deadline: Number(found[2]),
    approvals: Number(found[3]),
    outcome,
  };
}

export const decisionsCall = (applicationId: string): string => approval().encodeFunctionData('decisions', [applicationId]);

/** Every department of the application's policy with its decision (None while it has not decided). */
export function decodeDecisionsResult(result: string): DecisionRecord[] {
  const [departments, records] = approval().decodeFunctionResult('decisions', result) as unknown as [Result, Result];
  return [...departments].map((department, index) => {
    const record = records[index] as Result;
    return {
      department: getAddress(department as string),
      decision: DECISIONS[Number(record[0])]!,
      reasonCode: decodeReasonCode(record[1] as string),
      decidedAt: Number(record[2]),
    };
  });
}

export interface PolicyRecord {
  policyId: bigint;
  terms: PolicyTerms;
  createdAt: number;
  active: boolean;
}

export const policyCall = (policyId: bigint): string => approval().encodeFunctionData('policy', [policyId]);

export function decodePolicyResult(policyId: bigint, result: string): PolicyRecord | undefined {
  const found = approval().decodeFunctionResult('policy', result)[0] as Result;
  const createdAt = Number(found[1]);
  if (createdAt === 0) return undefined;
  return { policyId, terms: policyTermsFrom(found[0] as Result), createdAt, active: Boolean(found[2]) };
}

export const activePolicyCall = (credentialType: string): string =>
  approval().encodeFunctionData('activePolicyOf', [credentialType]);

export const decodeActivePolicy = (result: string): bigint =>
  approval().decodeFunctionResult('activePolicyOf', result)[0] as bigint;

// ---- events ----

export type JointApprovalEvent =
  | { event: 'PolicySet'; policyId: bigint; terms: PolicyTerms; replaced: bigint }
  | { event: 'PolicyRetired'; policyId: bigint; credentialType: string }
  | { event: 'ApplicationSubmitted'; applicationId: string; policyId: bigint; deadline: number }
  | { event: 'DecisionRecorded'; applicationId: string; department: string; decision: Decision; reasonCode: string }
  | { event: 'Approved'; applicationId: string; policyId: bigint }
  /** department is the zero address when the deadline passed. */
  | { event: 'Rejected'; applicationId: string; policyId: bigint; department: string; reasonCode: string };

const EVENTS = ['PolicySet', 'PolicyRetired', 'ApplicationSubmitted', 'DecisionRecorded', 'Approved', 'Rejected'];

export const jointApprovalEventTopics = (): string[] => EVENTS.map((name) => approval().getEvent(name)!.topicHash);

export function decodeJointApprovalLog(log: Pick<Log, 'topics' | 'data'>): JointApprovalEvent | undefined {
  let parsed;
  try {
    parsed = approval().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  const args = parsed.args;
  switch (parsed.name) {
    case 'PolicySet':
      return {
        event: parsed.name,
        policyId: args[0] as bigint,
        terms: policyTermsFrom(args[2] as Result),
        replaced: args[3] as bigint,
      };
    case 'PolicyRetired':
      return { event: parsed.name, policyId: args[0] as bigint, credentialType: args[1] as string };
    case 'ApplicationSubmitted':
      return { event: parsed.name, applicationId: args[0] as string, policyId: args[1] as bigint, deadline: Number(args[2]) };
    case 'DecisionRecorded':
      return {
        event: parsed.name,
        applicationId: args[0] as string,
        department: getAddress(args[1] as string),
        decision: DECISIONS[Number(args[2])]!,
        reasonCode: decodeReasonCode(args[3] as string),
      };
    case 'Approved':
      return { event: parsed.name, applicationId: args[0] as string, policyId: args[1] as bigint };
    case 'Rejected':
      return {
        event: parsed.name,
        applicationId: args[0] as string,
        policyId: args[1] as bigint,
        department: getAddress(args[2] as string),
        reasonCode: decodeReasonCode(args[3] as string),
      };
    default:
      return undefined;
  }
}
