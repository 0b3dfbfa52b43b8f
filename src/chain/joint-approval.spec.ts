import { concat, encodeBytes32String, keccak256, toUtf8Bytes, Wallet, ZeroHash } from 'ethers';
import { contractInterface } from './contracts.js';
import {
  applicationDigest,
  decideCall,
  decodeApplicationResult,
  decodeDecisionsResult,
  decodeJointApprovalLog,
  decodePolicyResult,
  decodeReasonCode,
  UNREADABLE_REASON_CODE,
  encodeReasonCode,
  jointApprovalEventTopics,
  type PolicyTerms,
} from './joint-approval.js';

const iface = contractInterface('JointApproval');
const [fire, health, market, agency] = Array.from({ length: 4 }, () => Wallet.createRandom().address) as [
  string,
  string,
  string,
  string,
];
const BUSINESS = keccak256(toUtf8Bytes('business-licence'));
const applicationId = keccak256('0x01');

describe('joint-approval bindings', () => {
  it('salts application digests: the same content under two salts gives unrelated ids', () => {
    const content = toUtf8Bytes('{"trade":"restaurant"}');
    const salt = new Uint8Array(32).fill(7);
    expect(applicationDigest(salt, content)).toBe(keccak256(concat([salt, content])));
    expect(applicationDigest(new Uint8Array(32).fill(8), content)).not.toBe(applicationDigest(salt, content));
    expect(() => applicationDigest(new Uint8Array(16), content)).toThrow();
  });

  it('carries reason codes as short bytes32 strings, and refuses anything else', () => {
    expect(encodeReasonCode('fire-exit-missing')).toBe(encodeBytes32String('fire-exit-missing'));
    expect(decodeReasonCode(encodeReasonCode('fire-exit-missing'))).toBe('fire-exit-missing');
    expect(decodeReasonCode(ZeroHash)).toBe('');
    // Whatever a department (or a member key used directly) put on chain that is no reason code is not passed on.
    for (const text of ['ZhangSan 110101199003071234', 'zhang-1990-0307', 'Has Capitals', '-leading-dash'])
      expect(decodeReasonCode(encodeBytes32String(text))).toBe(UNREADABLE_REASON_CODE);
    expect(decodeReasonCode('0x' + 'ff'.repeat(32))).toBe(UNREADABLE_REASON_CODE);
    for (const bad of ['', 'Upper', 'x'.repeat(32), 'with space', '-leading']) expect(() => encodeReasonCode(bad)).toThrow();
  });

  it('builds decisions: an approval without a reason carries zero', () => {
    const approve = iface.parseTransaction({ data: decideCall(applicationId, true) })!;
    expect(approve.args.toArray()).toEqual([applicationId, true, ZeroHash]);
    const reject = iface.parseTransaction({ data: decideCall(applicationId, false, 'noise-limits') })!;
    expect(decodeReasonCode(reject.args[2] as string)).toBe('noise-limits');
  });

  it('decodes applications, policies and decisions as read with eth_call', () => {
    const application = iface.encodeFunctionResult('application', [[3n, 100n, 200n, 1, 1]]);
    expect(decodeApplicationResult(applicationId, application)).toEqual({
      applicationId,
      policyId: 3n,
      submittedAt: 100,
      deadline: 200,
      approvals: 1,
      outcome: 'Pending',
    });
    expect(
      decodeApplicationResult(applicationId, iface.encodeFunctionResult('application', [[0n, 0n, 0n, 0, 0]])),
    ).toBeUndefined();

    const terms: PolicyTerms = {
      credentialType: BUSINESS,
      issuingDepartment: market,
      issuingAgency: agency,
      departments: [fire, health],
      required: 2,
      decisionPeriod: 0,
    };
    const policy = iface.encodeFunctionResult('policy', [[Object.values(terms), 50n, true]]);
    expect(decodePolicyResult(1n, policy)).toEqual({ policyId: 1n, terms, createdAt: 50, active: true });

    const decisions = iface.encodeFunctionResult('decisions', [
      [fire, health],
      [
        [1, ZeroHash, 120n],
        [0, ZeroHash, 0n],
      ],
    ]);
    expect(decodeDecisionsResult(decisions)).toEqual([
      { department: fire, decision: 'Approve', reasonCode: '', decidedAt: 120 },
      { department: health, decision: 'None', reasonCode: '', decidedAt: 0 },
    ]);
  });

  it('decodes its events, and nothing else', () => {
    const log = (name: string, values: unknown[]) => iface.encodeEventLog(name, values);
    expect(decodeJointApprovalLog(log('Approved', [applicationId, 2n]))).toEqual({
      event: 'Approved',
      applicationId,
      policyId: 2n,
    });
    expect(decodeJointApprovalLog(log('Rejected', [applicationId, 2n, fire, encodeReasonCode('noise-limits')]))).toEqual({
      event: 'Rejected',
      applicationId,
      policyId: 2n,
      department: fire,
      reasonCode: 'noise-limits',
    });
    expect(decodeJointApprovalLog(log('DecisionRecorded', [applicationId, health, 2, encodeReasonCode('late')]))).toMatchObject({
      decision: 'Reject',
      department: health,
    });
    expect(decodeJointApprovalLog(log('ApplicationSubmitted', [applicationId, 2n, 0n]))).toEqual({
      event: 'ApplicationSubmitted',
      applicationId,
      policyId: 2n,
      deadline: 0,
    });
    expect(decodeJointApprovalLog(log('PolicyRetired', [2n, BUSINESS]))).toEqual({
      event: 'PolicyRetired',
      policyId: 2n,
      credentialType: BUSINESS,
    });
    const governanceLog = contractInterface('ConsortiumGovernance').encodeEventLog('ProposalCancelled', [1n]);
    expect(decodeJointApprovalLog(governanceLog)).toBeUndefined();
    expect(jointApprovalEventTopics()).toHaveLength(6);
  });
});
