import { randomBytes } from 'node:crypto';
import { Contract, encodeBytes32String, keccak256, toUtf8Bytes, type Wallet } from 'ethers';
import { contractInterface } from '../../src/chain/contracts.js';
import {
  applicationDigest,
  decideCall,
  decodeApplicationResult,
  decodeDecisionsResult,
  decodeJointApprovalLog,
  decisionsCall,
  applicationCall,
  expireCall,
  submitCall,
  type JointApprovalEvent,
  type PolicyTerms,
} from '../../src/chain/joint-approval.js';
import { Consortium, recordGas, reportGas, revertOf, send, TestChain } from './support.js';

const BUSINESS = keccak256(toUtf8Bytes('business-licence'));
const FOOD = keccak256(toUtf8Bytes('food-business-licence'));
const OUTCOME = { Pending: 1n, Approved: 2n, Rejected: 3n, Expired: 4n };
const DAY = 86_400;

describe('JointApproval', () => {
  let chain: TestChain;
  let consortium: Consortium;
  let deployer: Wallet, market: Wallet, fire: Wallet, environment: Wallet, health: Wallet, agency: Wallet, outsider: Wallet;
  let allOf: bigint, twoOfThree: bigint;
  const call = (contract: Contract, name: string, ...args: unknown[]) => contract.getFunction(name)(...args);

  const newApplicationId = () => applicationDigest(randomBytes(32), toUtf8Bytes('{"trade":"restaurant","district":"east"}'));
  const events = (receipt: { logs: readonly { topics: readonly string[]; data: string }[] }) =>
    receipt.logs.map((log) => decodeJointApprovalLog(log)).filter((event): event is JointApprovalEvent => event !== undefined);
  const target = () => consortium.jointApproval.target as string;
  const submit = (from: Wallet, applicationId: string, policyId: bigint) =>
    send(from, { to: target(), data: submitCall(applicationId, policyId) }, 'submit application');
  const decide = (from: Wallet, applicationId: string, approve: boolean, reason = '') =>
    send(from, { to: target(), data: decideCall(applicationId, approve, reason) });
  const outcome = async (applicationId: string) => (await call(consortium.jointApproval, 'application', applicationId)).outcome;
  const policy = (overrides: Partial<PolicyTerms>): PolicyTerms => ({
    credentialType: BUSINESS,
    issuingDepartment: market.address,
    issuingAgency: agency.address,
    departments: [fire.address, environment.address],
    required: 2,
    decisionPeriod: 0,
    ...overrides,
  });
  const members = () => [market, fire];

  beforeAll(async () => {
    chain = await TestChain.start();
    [deployer, market, fire, environment, health, agency, outsider] = await chain.accounts(7);
    consortium = await chain.deployConsortium(
      deployer,
      [
        { wallet: market, name: 'Market Regulation' },
        { wallet: fire, name: 'Fire Safety' },
        { wallet: environment, name: 'Environment' },
        { wallet: health, name: 'Health' },
      ],
      2,
    );
    const set = await consortium.pass(members(), { kind: 'SetApprovalPolicy', terms: policy({}) });
    allOf = (events(set).find((event) => event.event === 'PolicySet') as { policyId: bigint }).policyId;
    await consortium.pass(members(), {
      kind: 'SetApprovalPolicy',
      terms: policy({
        credentialType: FOOD,
        departments: [fire.address, environment.address, health.address],
        decisionPeriod: DAY,
      }),
    });
    twoOfThree = await call(consortium.jointApproval, 'activePolicyOf', FOOD);
  });
  afterAll(async () => {
    reportGas('joint-approval');
    await chain.stop();
  });

  it('holds policies set by governance, readable with ethers, and refuses ill-formed ones', async () => {
    const stored = await call(consortium.jointApproval, 'policy', allOf);
    expect(stored.active).toBe(true);
    expect(stored.terms.departments.toArray()).toEqual([fire.address, environment.address]);
    expect(stored.terms.issuingAgency).toBe(agency.address);
    expect(await call(consortium.jointApproval, 'activePolicyOf', BUSINESS)).toBe(allOf);

    const refusal = async (overrides: Partial<PolicyTerms>) =>
      (
        await revertOf(
          consortium.propose(market, { kind: 'SetApprovalPolicy', terms: policy({ credentialType: FOOD, ...overrides }) }),
        )
      ).name;
    expect(await refusal({ departments: [fire.address, outsider.address] })).toBe('NotAMember');
    expect(await refusal({ issuingDepartment: outsider.address })).toBe('NotAMember');
    expect(await refusal({ departments: [fire.address, fire.address] })).toBe('DuplicateDepartment');
    expect(await refusal({ departments: [] })).toBe('BadDepartments');
    expect(await refusal({ required: 0 })).toBe('BadRequiredCount');
    expect(await refusal({ required: 3 })).toBe('BadRequiredCount');
    expect(await refusal({ decisionPeriod: 366 * DAY })).toBe('DecisionPeriodTooLong');
    expect(await refusal({ issuingAgency: '0x' + '00'.repeat(20) })).toBe('ZeroAddress');
  });

  it('takes applications only from the policy’s issuing department, once per digest', async () => {
    const id = newApplicationId();
    expect(await revertOf(submit(fire, id, allOf))).toEqual({ name: 'NotIssuingDepartment', args: [fire.address] });
    const receipt = await submit(market, id, allOf);
    expect(events(receipt)).toEqual([{ event: 'ApplicationSubmitted', applicationId: id, policyId: allOf, deadline: 0 }]);
    expect((await revertOf(submit(market, id, allOf))).name).toBe('ApplicationExists');
    expect((await revertOf(submit(market, '0x' + '00'.repeat(32), allOf))).name).toBe('ZeroApplicationId');
    expect((await revertOf(submit(market, newApplicationId(), 99n))).name).toBe('PolicyNotActive');
  });

  it('all-of: approved only when every required department approved, one decision each, no third party', async () => {
    const id = newApplicationId();
    await submit(market, id, allOf);

    const first = await decide(fire, id, true);
    recordGas('decide (approval, policy not yet satisfied)', first);
    expect(events(first).map((event) => event.event)).toEqual(['DecisionRecorded']);
    expect(await outcome(id)).toBe(OUTCOME.Pending);
    expect(await revertOf(decide(fire, id, true))).toEqual({ name: 'AlreadyDecided', args: [fire.address] });
    expect(await revertOf(decide(fire, id, false, 'changed-mind'))).toEqual({ name: 'AlreadyDecided', args: [fire.address] });
    expect(await revertOf(decide(health, id, true))).toEqual({ name: 'NotARequiredDepartment', args: [health.address] });
    expect(await revertOf(decide(outsider, id, true))).toEqual({ name: 'NotARequiredDepartment', args: [outsider.address] });

    const last = await decide(environment, id, true);
    recordGas('decide (approval that satisfies the policy)', last);
    expect(events(last)).toEqual([
      { event: 'DecisionRecorded', applicationId: id, department: environment.address, decision: 'Approve', reasonCode: '' },
      { event: 'Approved', applicationId: id, policyId: allOf },
    ]);
    expect(await outcome(id)).toBe(OUTCOME.Approved);
    expect((await revertOf(decide(environment, id, false, 'too-late'))).name).toBe('ApplicationNotPending');

    // Our decoders on the raw eth_call results, as the issuing department will read them.
    const read = async (data: string) => chain.provider.call({ to: target(), data });
    expect(decodeApplicationResult(id, await read(applicationCall(id)))).toMatchObject({ outcome: 'Approved', approvals: 2 });
    expect(decodeDecisionsResult(await read(decisionsCall(id)))).toEqual([
      { department: fire.address, decision: 'Approve', reasonCode: '', decidedAt: expect.any(Number) },
      { department: environment.address, decision: 'Approve', reasonCode: '', decidedAt: expect.any(Number) },
    ]);
  });

  it('rejects on any rejection, which must give a reason code', async () => {
    const id = newApplicationId();
    await submit(market, id, allOf);
    await decide(fire, id, true);
    expect((await revertOf(decide(environment, id, false))).name).toBe('MissingReason');
    // Only a reason code's form goes on chain, whoever sends it: not a name, an ID number, capitals or spaces.
    for (const text of ['ZhangSan 110101199003071234', 'zhang-1990-0307', 'Li Hua', '-dash-first']) {
      const data = contractInterface('JointApproval').encodeFunctionData('decide', [id, false, encodeBytes32String(text)]);
      expect((await revertOf(send(environment, { to: target(), data }))).name).toBe('BadReasonCode');
    }
    const rejected = await decide(environment, id, false, 'discharge-permit-missing');
    recordGas('decide (rejection)', rejected);
    expect(events(rejected).at(-1)).toEqual({
      event: 'Rejected',
      applicationId: id,
      policyId: allOf,
      department: environment.address,
      reasonCode: 'discharge-permit-missing',
    });
    expect(await outcome(id)).toBe(OUTCOME.Rejected);
    const decision = await call(consortium.jointApproval, 'decisionOf', id, environment.address);
    expect(decision.decision).toBe(2n);
  });

  it('M of N: any two of three suffice; the third is no longer asked', async () => {
    const id = newApplicationId();
    await submit(market, id, twoOfThree);
    await decide(health, id, true);
    expect(events(await decide(fire, id, true)).at(-1)).toEqual({ event: 'Approved', applicationId: id, policyId: twoOfThree });
    expect((await revertOf(decide(environment, id, true))).name).toBe('ApplicationNotPending');
    const decisions = decodeDecisionsResult(await chain.provider.call({ to: target(), data: decisionsCall(id) }));
    expect(decisions.map((entry) => entry.decision)).toEqual(['Approve', 'None', 'Approve']);
  });

  it('accepts decisions up to the deadline second, then only an expiry that anyone may call', async () => {
    const id = newApplicationId();
    const submitted = await submit(market, id, twoOfThree);
    const deadline = (events(submitted)[0] as { deadline: number }).deadline;
    expect(deadline).toBe((await chain.provider.getBlock(submitted.blockNumber))!.timestamp + DAY);

    expect(await revertOf(send(outsider, { to: target(), data: expireCall(id) }))).toEqual({
      name: 'DeadlineNotPassed',
      args: [BigInt(deadline)],
    });
    await chain.setNextTimestamp(deadline);
    await decide(fire, id, true);
    expect(await revertOf(decide(health, id, true))).toEqual({ name: 'DecisionAfterDeadline', args: [BigInt(deadline)] });

    const expired = await send(outsider, { to: target(), data: expireCall(id) }, 'expire');
    expect(events(expired)).toEqual([
      {
        event: 'Rejected',
        applicationId: id,
        policyId: twoOfThree,
        department: '0x' + '00'.repeat(20),
        reasonCode: 'deadline-missed',
      },
    ]);
    expect(await outcome(id)).toBe(OUTCOME.Expired);
    expect((await revertOf(send(outsider, { to: target(), data: expireCall(id) }))).name).toBe('ApplicationNotPending');

    const noDeadline = newApplicationId();
    await submit(market, noDeadline, allOf);
    await chain.increaseTime(400 * DAY);
    expect((await revertOf(send(outsider, { to: target(), data: expireCall(noDeadline) }))).name).toBe('DeadlineNotPassed');
    await decide(fire, noDeadline, true);
  });

  it('keeps pending applications on their policy when governance replaces or retires it', async () => {
    const pending = newApplicationId();
    await submit(market, pending, allOf);
    const set = await consortium.pass(members(), {
      kind: 'SetApprovalPolicy',
      terms: policy({ departments: [fire.address], required: 1 }),
    });
    const replacement = events(set).find((event) => event.event === 'PolicySet') as { policyId: bigint; replaced: bigint };
    expect(replacement.replaced).toBe(allOf);
    expect((await call(consortium.jointApproval, 'policy', allOf)).active).toBe(false);
    expect((await revertOf(submit(market, newApplicationId(), allOf))).name).toBe('PolicyNotActive');

    // Still two approvals under its own policy.
    await decide(fire, pending, true);
    expect(await outcome(pending)).toBe(OUTCOME.Pending);
    await decide(environment, pending, true);
    expect(await outcome(pending)).toBe(OUTCOME.Approved);

    await consortium.pass(members(), { kind: 'RetireApprovalPolicy', policyId: replacement.policyId });
    expect(await call(consortium.jointApproval, 'activePolicyOf', BUSINESS)).toBe(0n);
    expect(
      (await revertOf(consortium.propose(market, { kind: 'RetireApprovalPolicy', policyId: replacement.policyId }))).name,
    ).toBe('PolicyNotActive');
  });

  it('refuses decisions and applications from departments that have left the consortium', async () => {
    const id = newApplicationId();
    await submit(market, id, twoOfThree);
    await consortium.pass(members(), { kind: 'RemoveMember', member: health.address });
    expect(await revertOf(decide(health, id, true))).toEqual({ name: 'NotAMember', args: [health.address] });
    await consortium.pass(members(), { kind: 'RemoveMember', member: market.address });
    expect(await revertOf(submit(market, newApplicationId(), twoOfThree))).toEqual({
      name: 'NotAMember',
      args: [market.address],
    });
  });
});
