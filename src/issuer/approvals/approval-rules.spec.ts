import { REASON_CODE_PATTERN } from '../../config/index.js';
import { randomBytes } from 'node:crypto';
import { concat, encodeBytes32String, keccak256, Wallet, ZeroAddress } from 'ethers';
import {
  applicationIdOf,
  contentMatchesApplication,
  contentBytes,
  offerApprovalOf,
  outcomeOfStep,
  policyMismatch,
  scopeConfigurations,
  stepId,
  stepOfEvent,
  timelineView,
  walletApplicationTarget,
} from './approval-rules.js';
import { parseConfigurationId } from '../../oid4vci/index.js';

describe('joint-approval rules', () => {
  const content = { typeId: 'business-licence', formats: ['dc+sd-jwt'], claims: { b: 2, a: 'x' } };

  it('digests the salt and the canonical content (key order does not matter, the salt does)', () => {
    const salt = randomBytes(32);
    const id = applicationIdOf(salt, content);
    expect(id).toBe(
      keccak256(
        concat([
          salt,
          new TextEncoder().encode('{"claims":{"a":"x","b":2},"formats":["dc+sd-jwt"],"typeId":"business-licence"}'),
        ]),
      ),
    );
    expect(applicationIdOf(salt, { claims: { a: 'x', b: 2 }, formats: ['dc+sd-jwt'], typeId: 'business-licence' })).toBe(id);
    expect(applicationIdOf(randomBytes(32), content)).not.toBe(id);
    expect(new TextDecoder().decode(contentBytes(content))).not.toContain(' ');
    expect(() => applicationIdOf(randomBytes(16), content)).toThrow(/32 random bytes/);
  });

  it('takes short reason codes, never one that could hold an ID, phone or case number (it goes on chain)', () => {
    for (const code of ['fire-exits', 'rule-12.3', 'a', 'zoning_v2', 'x'.repeat(31)])
      expect(REASON_CODE_PATTERN.test(code)).toBe(true);
    for (const code of ['11010519880314002x', 'case-2024', 'tel.13800138000', 'X', '-a', 'x'.repeat(32), 'résumé'])
      expect(REASON_CODE_PATTERN.test(code)).toBe(false);
  });

  it("checks a peer's answer against the application id: another content, salt or a malformed salt is refused", () => {
    const salt = randomBytes(32);
    const id = applicationIdOf(salt, content);
    const hex = '0x' + salt.toString('hex');
    expect(contentMatchesApplication(id, hex, content)).toBe(true);
    expect(contentMatchesApplication(id.toUpperCase().replace('0X', '0x'), hex, content)).toBe(true);
    expect(contentMatchesApplication(id, hex, { ...content, claims: { ...content.claims, a: 'y' } })).toBe(false);
    expect(contentMatchesApplication(id, '0x' + randomBytes(32).toString('hex'), content)).toBe(false);
    for (const bad of [undefined, 42, 'zz', '0x123', '0x' + salt.subarray(0, 16).toString('hex')])
      expect(contentMatchesApplication(id, bad, content)).toBe(false);
  });

  it('maps contract events to timeline steps and outcomes', () => {
    const department = Wallet.createRandom().address;
    const applicationId = '0x' + '1'.repeat(64);
    expect(stepOfEvent({ event: 'ApplicationSubmitted', applicationId, policyId: 1n, deadline: 0 })).toEqual({
      step: 'submitted',
      department: null,
      decision: null,
      reasonCode: null,
    });
    const approve = stepOfEvent({ event: 'DecisionRecorded', applicationId, department, decision: 'Approve', reasonCode: '' })!;
    expect(approve).toEqual({ step: 'decision', department, decision: 'approve', reasonCode: null });
    expect(outcomeOfStep(approve)).toBeUndefined();
    const approved = stepOfEvent({ event: 'Approved', applicationId, policyId: 1n })!;
    expect(outcomeOfStep(approved)).toBe('approved');
    const rejected = stepOfEvent({ event: 'Rejected', applicationId, policyId: 1n, department, reasonCode: 'fire-exits' })!;
    expect(rejected).toEqual({ step: 'rejected', department, decision: 'reject', reasonCode: 'fire-exits' });
    expect(outcomeOfStep(rejected)).toBe('rejected');
    const expired = stepOfEvent({
      event: 'Rejected',
      applicationId,
      policyId: 1n,
      department: ZeroAddress,
      reasonCode: 'deadline-missed',
    })!;
    expect(expired.step).toBe('expired');
    expect(outcomeOfStep(expired)).toBe('expired');
    expect(stepOfEvent({ event: 'PolicyRetired', policyId: 1n, credentialType: encodeBytes32String('x') })).toBeUndefined();
    expect(stepId('ref', 'decision', department)).toBe(`ref/decision/${department}`);
    expect(stepId('ref', 'approved', null)).toBe('ref/approved/-');
  });

  it('lets the deferred endpoint wait, issue or deny', () => {
    expect(offerApprovalOf('pending')).toBe('pending');
    expect(offerApprovalOf('approved')).toBe('approved');
    expect(offerApprovalOf('rejected')).toBe('rejected');
    expect(offerApprovalOf('expired')).toBe('rejected');
  });

  it('submits only under an active policy naming this department and this agency', () => {
    const me = Wallet.createRandom().address;
    const agency = Wallet.createRandom().address;
    const other = Wallet.createRandom().address;
    const policy = { issuingDepartment: me, issuingAgency: agency, active: true };
    expect(policyMismatch(policy, me.toLowerCase(), agency)).toBeUndefined();
    expect(policyMismatch(undefined, me, agency)).toMatch(/no active/);
    expect(policyMismatch({ ...policy, active: false }, me, agency)).toMatch(/no active/);
    expect(policyMismatch(policy, other, agency)).toMatch(/another department/);
    expect(policyMismatch(policy, me, other)).toMatch(/another agency/);
  });
});

describe('timeline order', () => {
  it('follows the chain: block, then the order a transaction emits its events, then issued', () => {
    const at = (ms: number) => new Date(1_800_000_000_000 + ms);
    const step = (kind: 'submitted' | 'decision' | 'approved' | 'issued', blockNumber: number | null, ms: number) => ({
      id: kind,
      applicationRef: 'r',
      step: kind,
      department: null,
      decision: null,
      reasonCode: null,
      txHash: null,
      blockNumber,
      at: at(ms),
    });
    // Recorded out of order: the approved event of block 9 was stored before the decision of the same block.
    const view = timelineView([step('issued', null, 1), step('approved', 9, 2), step('decision', 9, 5), step('submitted', 3, 9)]);
    expect(view.map((entry) => entry.step)).toEqual(['submitted', 'decision', 'approved', 'issued']);
  });

  it('maps a scope to the configurations of its types, and requested configurations to one type and its formats', () => {
    const known = {
      'business-licence.sd_jwt': { scope: 'business-licence' },
      'business-licence.jwt_vc': { scope: 'business-licence' },
      'driving-licence.sd_jwt': { scope: 'driving-licence' },
    };
    expect(scopeConfigurations('openid business-licence', known)).toEqual(['business-licence.sd_jwt', 'business-licence.jwt_vc']);
    expect(scopeConfigurations(undefined, known)).toEqual([]);
    expect(walletApplicationTarget(['business-licence.sd_jwt', 'business-licence.jwt_vc'], parseConfigurationId)).toEqual({
      typeId: 'business-licence',
      formats: ['dc+sd-jwt', 'jwt_vc_json'],
    });
    expect(walletApplicationTarget([], parseConfigurationId)).toHaveProperty('problem');
    expect(walletApplicationTarget(['nope'], parseConfigurationId)).toHaveProperty('problem');
    expect(walletApplicationTarget(['business-licence.sd_jwt', 'driving-licence.sd_jwt'], parseConfigurationId)).toEqual({
      problem: 'an application is for one credential type',
    });
  });
});
