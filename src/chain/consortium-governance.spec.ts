import { AbiCoder, Interface, keccak256, toUtf8Bytes, Wallet } from 'ethers';
import { contractBytecode, contractInterface, deploymentData } from './contracts.js';
import {
  decodeGovernanceLog,
  decodeProposal,
  decodeProposalResult,
  encodeProposal,
  governanceDeployment,
  governanceEventTopics,
  governanceWriteIdentity,
  governedDeployment,
  PROPOSAL_KINDS,
  proposeCall,
  voteCall,
  type ProposalAction,
} from './consortium-governance.js';

const member = Wallet.createRandom().address;
const agency = Wallet.createRandom().address;
const DRIVING = keccak256(toUtf8Bytes('driving-licence'));
const permission = {
  relyingParty: 'did:web:rental.example',
  clientId: 'x509_san_dns:rental.example',
  credentialType: DRIVING,
  claims: ['given_name', 'categories'],
  purpose: 'Check the driving entitlement of a car rental customer',
  expiresAt: 1_900_000_000,
};
const policy = {
  credentialType: DRIVING,
  issuingDepartment: member,
  issuingAgency: agency,
  departments: [member, agency],
  required: 1,
  decisionPeriod: 86_400,
};
const ACTIONS: ProposalAction[] = [
  { kind: 'AddMember', member, name: 'Transport' },
  { kind: 'RemoveMember', member },
  { kind: 'ChangeThreshold', threshold: 2 },
  { kind: 'AuthoriseIssuer', issuer: agency, credentialType: DRIVING },
  { kind: 'WithdrawIssuer', issuer: agency, credentialType: DRIVING },
  { kind: 'PublishType', typeId: DRIVING, schemaDigest: keccak256('0x01'), version: 3 },
  { kind: 'RetireType', typeId: DRIVING },
  { kind: 'GrantPermission', terms: permission },
  { kind: 'WithdrawPermission', permissionId: 4n },
  { kind: 'SetApprovalPolicy', terms: policy },
  { kind: 'RetireApprovalPolicy', policyId: 2n },
];

describe('governance bindings', () => {
  const iface = contractInterface('ConsortiumGovernance');

  it('names every kind of the contract’s enum, in order, and each has an action', () => {
    const kindEnum = iface.getFunction('propose')!.inputs[0]!;
    expect(kindEnum.type).toBe('uint8');
    expect(ACTIONS.map((action) => action.kind)).toEqual([...PROPOSAL_KINDS]);
  });

  it('round-trips every kind through encode and decode', () => {
    for (const action of ACTIONS) {
      const { kind, args } = encodeProposal(action);
      expect(kind).toBe(PROPOSAL_KINDS.indexOf(action.kind));
      expect(decodeProposal(kind, args)).toEqual(action);
    }
    expect(() => decodeProposal(PROPOSAL_KINDS.length, '0x')).toThrow();
  });

  it('encodes struct kinds as the Solidity tuple, field by field', () => {
    const abi = AbiCoder.defaultAbiCoder();
    const permissionTuple = 'tuple(string,string,bytes32,string[],string,uint64)';
    expect(encodeProposal({ kind: 'GrantPermission', terms: permission }).args).toBe(
      abi.encode([permissionTuple], [Object.values(permission)]),
    );
    const policyTuple = 'tuple(bytes32,address,address,address[],uint8,uint64)';
    expect(encodeProposal({ kind: 'SetApprovalPolicy', terms: policy }).args).toBe(
      abi.encode([policyTuple], [Object.values(policy)]),
    );
  });

  it('builds propose and vote calldata the contract ABI parses', () => {
    const action = ACTIONS[3]!;
    const parsed = iface.parseTransaction({ data: proposeCall(action, 1_800_000_000) })!;
    expect(parsed.name).toBe('propose');
    expect(decodeProposal(parsed.args[0] as bigint, parsed.args[1] as string)).toEqual(action);
    expect(parsed.args[2]).toBe(1_800_000_000n);
    expect(iface.parseTransaction({ data: voteCall(9n) })!.args.toArray()).toEqual([9n]);
  });

  it('decodes every governance event, and ignores logs that are not its own', () => {
    const log = (name: string, values: unknown[]) => iface.encodeEventLog(name, values);
    const { kind, args } = encodeProposal(ACTIONS[0]!);
    expect(decodeGovernanceLog(log('ProposalCreated', [1n, kind, member, args, 1_800_000_000]))).toEqual({
      event: 'ProposalCreated',
      proposalId: 1n,
      proposer: member,
      action: ACTIONS[0],
      expiresAt: 1_800_000_000,
    });
    expect(decodeGovernanceLog(log('ProposalVoted', [1n, member, 2n]))).toEqual({
      event: 'ProposalVoted',
      proposalId: 1n,
      member,
      approvals: 2,
    });
    expect(decodeGovernanceLog(log('ProposalExecuted', [1n, 7]))).toEqual({
      event: 'ProposalExecuted',
      proposalId: 1n,
      kind: 'GrantPermission',
    });
    expect(decodeGovernanceLog(log('ProposalCancelled', [3n]))).toEqual({ event: 'ProposalCancelled', proposalId: 3n });
    expect(decodeGovernanceLog(log('MemberAdded', [member, 'Tax']))).toEqual({ event: 'MemberAdded', member, name: 'Tax' });
    expect(decodeGovernanceLog(log('MemberRemoved', [member]))).toEqual({ event: 'MemberRemoved', member });
    expect(decodeGovernanceLog(log('ThresholdChanged', [2n]))).toEqual({ event: 'ThresholdChanged', threshold: 2 });
    expect(decodeGovernanceLog(log('TargetsBound', [member, agency, member, agency]))).toEqual({
      event: 'TargetsBound',
      issuerRegistry: member,
      catalogue: agency,
      dataSharing: member,
      jointApproval: agency,
    });
    const foreign = contractInterface('GovernedIssuerRegistry').encodeEventLog('IssuerAuthorisation', [agency, DRIVING, true]);
    expect(decodeGovernanceLog(foreign)).toBeUndefined();
    expect(decodeGovernanceLog({ topics: [], data: '0x' })).toBeUndefined();
    expect(new Set(governanceEventTopics()).size).toBe(8);
  });

  it('decodes the proposal view, and refuses an id that was never used', () => {
    const { kind, args } = encodeProposal(ACTIONS[2]!);
    const stored = [kind, 1, member, 100n, 200n, 0n, keccak256(args), args];
    expect(decodeProposalResult(iface.encodeFunctionResult('proposal', [stored]))).toEqual({
      action: ACTIONS[2],
      state: 'Open',
      proposer: member,
      createdAt: 100,
      expiresAt: 200,
      executedAt: 0,
      contentHash: keccak256(args),
    });
    const empty = [0, 0, '0x' + '00'.repeat(20), 0n, 0n, 0n, '0x' + '00'.repeat(32), '0x'];
    expect(() => decodeProposalResult(iface.encodeFunctionResult('proposal', [empty]))).toThrow();
  });

  it('builds deploying data: the creation bytecode followed by the constructor arguments', () => {
    const data = governanceDeployment([{ member, name: 'Transport' }], 1);
    const bytecode = contractBytecode('ConsortiumGovernance');
    expect(data.startsWith(bytecode)).toBe(true);
    const args = AbiCoder.defaultAbiCoder().decode(['address[]', 'string[]', 'uint256'], '0x' + data.slice(bytecode.length));
    expect(args.toArray(true)).toEqual([[member], ['Transport'], 1n]);
    const registry = governedDeployment('DataSharingRegistry', member);
    expect(registry).toBe(
      contractBytecode('DataSharingRegistry') + AbiCoder.defaultAbiCoder().encode(['address'], [member]).slice(2),
    );
    expect(() => deploymentData('JointApproval', [])).toThrow();
    expect(deploymentData('AuditAnchor')).toBe(contractBytecode('AuditAnchor'));
    expect(new Interface(iface.fragments).deploy.inputs.map((input) => input.type)).toEqual(['address[]', 'string[]', 'uint256']);
  });
});

describe('governanceWriteIdentity', () => {
  it('tells the same proposal sent twice (each with its own expiry) from another, and keeps other calls as they are', () => {
    const addMember: ProposalAction = { kind: 'AddMember', member, name: 'Transport' };
    expect(governanceWriteIdentity(proposeCall(addMember, 1_000))).toBe(governanceWriteIdentity(proposeCall(addMember, 2_000)));
    expect(governanceWriteIdentity(proposeCall(addMember, 1_000))).not.toBe(
      governanceWriteIdentity(proposeCall({ kind: 'RemoveMember', member }, 1_000)),
    );
    expect(governanceWriteIdentity(voteCall(7n))).toBe(voteCall(7n));
  });
});
