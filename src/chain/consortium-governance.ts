import { AbiCoder, getAddress, type Log, type ParamType, type Result } from 'ethers';
import { contractInterface, deploymentData, type ConsortiumContractName } from './contracts.js';
import { type PermissionTerms, permissionTermsFrom, permissionTermsValue } from './data-sharing.js';
import { type PolicyTerms, policyTermsFrom, policyTermsValue } from './joint-approval.js';

/** ABI bindings for contracts/ConsortiumGovernance.sol (ADR 11): pure encoders and decoders, no I/O. */
const governance = () => contractInterface('ConsortiumGovernance');
const abi = AbiCoder.defaultAbiCoder();

/** The contract's ProposalKind enum, in order. */
export const PROPOSAL_KINDS = [
  'AddMember',
  'RemoveMember',
  'ChangeThreshold',
  'AuthoriseIssuer',
  'WithdrawIssuer',
  'PublishType',
  'RetireType',
  'GrantPermission',
  'WithdrawPermission',
  'SetApprovalPolicy',
  'RetireApprovalPolicy',
] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];

/** The contract's ProposalState enum, in order (Expired is an Open proposal past its expiry). */
export const PROPOSAL_STATES = ['None', 'Open', 'Executed', 'Cancelled', 'Expired'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** What a proposal does, one shape per kind. Credential types and type ids are bytes32 keys (credentialTypeKey). */
export type ProposalAction =
  | { kind: 'AddMember'; member: string; name: string }
  | { kind: 'RemoveMember'; member: string }
  | { kind: 'ChangeThreshold'; threshold: number }
  | { kind: 'AuthoriseIssuer' | 'WithdrawIssuer'; issuer: string; credentialType: string }
  | { kind: 'PublishType'; typeId: string; schemaDigest: string; version: number }
  | { kind: 'RetireType'; typeId: string }
  | { kind: 'GrantPermission'; terms: PermissionTerms }
  | { kind: 'WithdrawPermission'; permissionId: bigint }
  | { kind: 'SetApprovalPolicy'; terms: PolicyTerms }
  | { kind: 'RetireApprovalPolicy'; policyId: bigint };

/** ABI types of each kind's args; struct kinds take them from the registry function they call. */
function argTypes(kind: ProposalKind): readonly (string | ParamType)[] {
  switch (kind) {
    case 'AddMember':
      return ['address', 'string'];
    case 'RemoveMember':
      return ['address'];
    case 'ChangeThreshold':
    case 'WithdrawPermission':
    case 'RetireApprovalPolicy':
      return ['uint256'];
    case 'AuthoriseIssuer':
    case 'WithdrawIssuer':
      return ['address', 'bytes32'];
    case 'PublishType':
      return contractInterface('CatalogueRegistry').getFunction('publish')!.inputs;
    case 'RetireType':
      return ['bytes32'];
    case 'GrantPermission':
      return contractInterface('DataSharingRegistry').getFunction('grant')!.inputs;
    case 'SetApprovalPolicy':
      return contractInterface('JointApproval').getFunction('setPolicy')!.inputs;
  }
}

function argValues(action: ProposalAction): unknown[] {
  switch (action.kind) {
    case 'AddMember':
      return [action.member, action.name];
    case 'RemoveMember':
      return [action.member];
    case 'ChangeThreshold':
      return [action.threshold];
    case 'AuthoriseIssuer':
    case 'WithdrawIssuer':
      return [action.issuer, action.credentialType];
    case 'PublishType':
      return [action.typeId, action.schemaDigest, action.version];
    case 'RetireType':
      return [action.typeId];
    case 'GrantPermission':
      return [permissionTermsValue(action.terms)];
    case 'WithdrawPermission':
      return [action.permissionId];
    case 'SetApprovalPolicy':
      return [policyTermsValue(action.terms)];
    case 'RetireApprovalPolicy':
      return [action.policyId];
  }
}

/** The (kind, args) pair that propose() takes; args are in the canonical encoding the contract stores. */
export function encodeProposal(action: ProposalAction): { kind: number; args: string } {
  return { kind: PROPOSAL_KINDS.indexOf(action.kind), args: abi.encode(argTypes(action.kind), argValues(action)) };
}

/** The action a proposal carries, from its kind number and args (as read from proposal() or ProposalCreated). */
export function decodeProposal(kindNumber: number | bigint, args: string): ProposalAction {
  const kind = PROPOSAL_KINDS[Number(kindNumber)];
  if (!kind) throw new Error(`Unknown proposal kind ${kindNumber}`);
  const values = abi.decode(argTypes(kind), args);
  switch (kind) {
    case 'AddMember':
      return { kind, member: getAddress(values[0] as string), name: values[1] as string };
    case 'RemoveMember':
      return { kind, member: getAddress(values[0] as string) };
    case 'ChangeThreshold':
      return { kind, threshold: Number(values[0]) };
    case 'AuthoriseIssuer':
    case 'WithdrawIssuer':
      return { kind, issuer: getAddress(values[0] as string), credentialType: values[1] as string };
    case 'PublishType':
      return { kind, typeId: values[0] as string, schemaDigest: values[1] as string, version: Number(values[2]) };
    case 'RetireType':
      return { kind, typeId: values[0] as string };
    case 'GrantPermission':
      return { kind, terms: permissionTermsFrom(values[0] as Result) };
    case 'WithdrawPermission':
      return { kind, permissionId: values[0] as bigint };
    case 'SetApprovalPolicy':
      return { kind, terms: policyTermsFrom(values[0] as Result) };
    case 'RetireApprovalPolicy':
      return { kind, policyId: values[0] as bigint };
  }
}

// ---- calls (calldata for the outbox; the department's controller key signs) ----

/** propose(kind, args, expiresAt): expiresAt in unix seconds, at most 90 days ahead. */
export function proposeCall(action: ProposalAction, expiresAt: number): string {
  const { kind, args } = encodeProposal(action);
  return governance().encodeFunctionData('propose', [kind, args, expiresAt]);
}

/**
 * What makes two governance writes the same one: the calldata, a proposal's expiry left out (each call computes
 * its own from now, so a retried proposal differs only there).
 */
export function governanceWriteIdentity(data: string): string {
  try {
    const [kind, args] = governance().decodeFunctionData('propose', data);
    return governance().encodeFunctionData('propose', [kind, args, 0]);
  } catch {
    return data; // not a proposal: the calldata itself
  }
}

export const voteCall = (proposalId: bigint): string => governance().encodeFunctionData('vote', [proposalId]);
export const executeCall = (proposalId: bigint): string => governance().encodeFunctionData('execute', [proposalId]);
export const cancelCall = (proposalId: bigint): string => governance().encodeFunctionData('cancel', [proposalId]);

export interface GovernedTargets {
  issuerRegistry: string;
  catalogue: string;
  dataSharing: string;
  jointApproval: string;
}

/** bindTargets(...), sent once by the deployer after the governed registries are deployed. */
export function bindTargetsCall(targets: GovernedTargets): string {
  return governance().encodeFunctionData('bindTargets', [
    targets.issuerRegistry,
    targets.catalogue,
    targets.dataSharing,
    targets.jointApproval,
  ]);
}

/** Deploying data for the governance with its founding members (controller address and department name). */
export function governanceDeployment(founders: readonly { member: string; name: string }[], threshold: number): string {
  return deploymentData('ConsortiumGovernance', [
    founders.map((founder) => founder.member),
    founders.map((founder) => founder.name),
    threshold,
  ]);
}

/** Deploying data for a registry governed by the given governance contract. */
export function governedDeployment(
  name: Exclude<ConsortiumContractName, 'ConsortiumGovernance' | 'AuditAnchor'>,
  governanceAddress: string,
): string {
  return deploymentData(name, [governanceAddress]);
}

// ---- reads ----

export interface ProposalRecord {
  action: ProposalAction;
  state: ProposalState;
  proposer: string;
  createdAt: number;
  expiresAt: number;
  /** 0 until executed. */
  executedAt: number;
  contentHash: string;
}

export const proposalCall = (proposalId: bigint): string => governance().encodeFunctionData('proposal', [proposalId]);

/** The result of proposal(id); throws for an id that was never used (state None). */
export function decodeProposalResult(result: string): ProposalRecord {
  const found = governance().decodeFunctionResult('proposal', result)[0] as Result;
  const state = PROPOSAL_STATES[Number(found[1])]!;
  if (state === 'None') throw new Error('No such proposal');
  return {
    action: decodeProposal(found[0] as bigint, found[7] as string),
    state,
    proposer: getAddress(found[2] as string),
    createdAt: Number(found[3]),
    expiresAt: Number(found[4]),
    executedAt: Number(found[5]),
    contentHash: found[6] as string,
  };
}

// ---- events (how a department's service follows the consortium) ----

export type GovernanceEvent =
  | { event: 'ProposalCreated'; proposalId: bigint; proposer: string; action: ProposalAction; expiresAt: number }
  | { event: 'ProposalVoted'; proposalId: bigint; member: string; approvals: number }
  | { event: 'ProposalExecuted'; proposalId: bigint; kind: ProposalKind }
  | { event: 'ProposalCancelled'; proposalId: bigint }
  | { event: 'MemberAdded'; member: string; name: string }
  | { event: 'MemberRemoved'; member: string }
  | { event: 'ThresholdChanged'; threshold: number }
  | ({ event: 'TargetsBound' } & GovernedTargets);

const GOVERNANCE_EVENTS = [
  'ProposalCreated',
  'ProposalVoted',
  'ProposalExecuted',
  'ProposalCancelled',
  'MemberAdded',
  'MemberRemoved',
  'ThresholdChanged',
  'TargetsBound',
] as const;

/** topic[0] of every governance event, for a log filter. */
export const governanceEventTopics = (): string[] => GOVERNANCE_EVENTS.map((name) => governance().getEvent(name)!.topicHash);

/** A governance log as a typed event; undefined for a log of another contract or event. */
export function decodeGovernanceLog(log: Pick<Log, 'topics' | 'data'>): GovernanceEvent | undefined {
  const parsed = parseLog(log);
  if (!parsed) return undefined;
  const { name, args } = parsed;
  switch (name) {
    case 'ProposalCreated':
      return {
        event: name,
        proposalId: args[0] as bigint,
        proposer: getAddress(args[2] as string),
        action: decodeProposal(args[1] as bigint, args[3] as string),
        expiresAt: Number(args[4]),
      };
    case 'ProposalVoted':
      return { event: name, proposalId: args[0] as bigint, member: getAddress(args[1] as string), approvals: Number(args[2]) };
    case 'ProposalExecuted':
      return { event: name, proposalId: args[0] as bigint, kind: PROPOSAL_KINDS[Number(args[1])]! };
    case 'ProposalCancelled':
      return { event: name, proposalId: args[0] as bigint };
    case 'MemberAdded':
      return { event: name, member: getAddress(args[0] as string), name: args[1] as string };
    case 'MemberRemoved':
      return { event: name, member: getAddress(args[0] as string) };
    case 'ThresholdChanged':
      return { event: name, threshold: Number(args[0]) };
    case 'TargetsBound':
      return {
        event: name,
        issuerRegistry: getAddress(args[0] as string),
        catalogue: getAddress(args[1] as string),
        dataSharing: getAddress(args[2] as string),
        jointApproval: getAddress(args[3] as string),
      };
    default:
      return undefined;
  }
}

function parseLog(log: Pick<Log, 'topics' | 'data'>): { name: string; args: Result } | undefined {
  try {
    const parsed = governance().parseLog({ topics: [...log.topics], data: log.data });
    return parsed ? { name: parsed.name, args: parsed.args } : undefined;
  } catch {
    return undefined;
  }
}
