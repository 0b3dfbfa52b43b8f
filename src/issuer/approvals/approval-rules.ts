import { getAddress, getBytes, ZeroAddress } from 'ethers';
import { canonicalJson } from '../../audit/index.js';
import { applicationDigest, DEADLINE_MISSED, type JointApprovalEvent } from '../../chain/index.js';
import type { ApplicationState, ApprovalStepEntity, StepKind } from './approval.entity.js';

/** Joint approval (issue 16, ADR 17): the rules, as plain functions (no Nest, no I/O). */

/** What an application asks for: the catalogue type, the formats to issue, the claims. */
export interface ApplicationContent {
  typeId: string;
  formats: string[];
  claims: Record<string, unknown>;
}

/** The canonical bytes of an application's content (sorted keys, no whitespace): what the digest covers. */
export const contentBytes = (content: ApplicationContent): Uint8Array =>
  new TextEncoder().encode(canonicalJson({ typeId: content.typeId, formats: content.formats, claims: content.claims }));

/** The on-chain application id: keccak256(salt ‖ canonical content), lowercase hex. */
export const applicationIdOf = (salt: Uint8Array, content: ApplicationContent): string =>
  applicationDigest(salt, contentBytes(content)).toLowerCase();

/**
 * Whether a peer's answer is the content the application id on chain commits to (keccak256 of salt ‖ content):
 * an issuing department (or anyone between) cannot show approvers another application than the one submitted.
 */
export function contentMatchesApplication(applicationId: string, salt: unknown, content: ApplicationContent): boolean {
  if (typeof salt !== 'string' || !/^0x(?:[0-9a-fA-F]{2})+$/.test(salt)) return false;
  try {
    return applicationIdOf(getBytes(salt), content) === applicationId.toLowerCase();
  } catch {
    return false;
  }
}

/** The timeline row id: one row per application, step and department, whoever records it first. */
export const stepId = (reference: string, step: StepKind, department: string | null): string =>
  `${reference}/${step}/${department ?? '-'}`;

export interface ChainStep {
  step: Exclude<StepKind, 'issued'>;
  department: string | null;
  decision: 'approve' | 'reject' | null;
  reasonCode: string | null;
}

/** The timeline step a JointApproval event is; undefined for policy events. */
export function stepOfEvent(event: JointApprovalEvent): ChainStep | undefined {
  switch (event.event) {
    case 'ApplicationSubmitted':
      return { step: 'submitted', department: null, decision: null, reasonCode: null };
    case 'DecisionRecorded':
      return {
        step: 'decision',
        department: getAddress(event.department),
        decision: event.decision === 'Approve' ? 'approve' : 'reject',
        reasonCode: event.reasonCode || null,
      };
    case 'Approved':
      return { step: 'approved', department: null, decision: null, reasonCode: null };
    case 'Rejected':
      // expire() emits Rejected from the zero address with the contract's DEADLINE_MISSED reason.
      if (event.department === ZeroAddress && event.reasonCode === DEADLINE_MISSED)
        return { step: 'expired', department: null, decision: null, reasonCode: DEADLINE_MISSED };
      return {
        step: 'rejected',
        department: getAddress(event.department),
        decision: 'reject',
        reasonCode: event.reasonCode || null,
      };
    default:
      return undefined;
  }
}

/** The final state a step puts an application in; undefined for a step that leaves it pending. */
export function outcomeOfStep(step: Pick<ChainStep, 'step'>): Exclude<ApplicationState, 'pending'> | undefined {
  if (step.step === 'approved' || step.step === 'rejected' || step.step === 'expired') return step.step;
  return undefined;
}

/** What the deferred endpoint does for an application's offer: wait (202), issue, or deny (OID4VCI 1.0 §9.3). */
export const offerApprovalOf = (state: ApplicationState): 'pending' | 'approved' | 'rejected' =>
  state === 'pending' ? 'pending' : state === 'approved' ? 'approved' : 'rejected';

export interface PolicyFit {
  issuingDepartment: string;
  issuingAgency: string;
  active: boolean;
}

/** Why this department cannot submit under a policy for this agency; undefined when it can. */
export function policyMismatch(policy: PolicyFit | undefined, controller: string, agencyAddress: string): string | undefined {
  if (!policy || !policy.active) return 'no active joint-approval policy for this credential type';
  if (getAddress(policy.issuingDepartment) !== getAddress(controller))
    return 'the policy names another department as the one that submits applications';
  if (getAddress(policy.issuingAgency) !== getAddress(agencyAddress)) return 'the policy names another agency as the issuer';
  return undefined;
}

/** Order of the steps one transaction emits (DecisionRecorded before Approved/Rejected). */
const STEP_RANK: Record<ApprovalStepEntity['step'], number> = {
  submitted: 0,
  decision: 1,
  approved: 2,
  rejected: 2,
  expired: 2,
  issued: 3,
};

/**
 * A timeline as the API shows it: chain order (block, then the order a transaction emits its events; the
 * watcher records a block's events concurrently, so the recording time does not say), then the issued steps.
 */
export function timelineView(steps: readonly ApprovalStepEntity[]) {
  return [...steps]
    .sort(
      (a, b) =>
        (a.blockNumber ?? Infinity) - (b.blockNumber ?? Infinity) ||
        STEP_RANK[a.step] - STEP_RANK[b.step] ||
        a.at.getTime() - b.at.getTime(),
    )
    .map((step) => ({
      step: step.step,
      department: step.department,
      decision: step.decision,
      reasonCode: step.step === 'issued' ? null : step.reasonCode,
      configurationId: step.step === 'issued' ? step.reasonCode : null,
      txHash: step.txHash,
      blockNumber: step.blockNumber,
      at: step.at.toISOString(),
    }));
}

/** The configuration ids a space-separated OAuth scope names (each configuration's scope is its type id). */
export function scopeConfigurations(scope: string | undefined, known: Record<string, { scope?: unknown }>): string[] {
  const scopes = new Set((scope ?? '').split(' ').filter(Boolean));
  return Object.entries(known)
    .filter(([, configuration]) => typeof configuration.scope === 'string' && scopes.has(configuration.scope))
    .map(([id]) => id);
}

/**
 * What a wallet-started application asks for: one catalogue type and its formats, from the requested
 * configuration ids (`<type>.<sd_jwt|jwt_vc>`); a problem description when they name none or several types.
 */
export function walletApplicationTarget(
  configurationIds: readonly string[],
  parse: (id: string) => { typeId: string; format: string } | undefined,
): { typeId: string; formats: string[] } | { problem: string } {
  const parsed = [...new Set(configurationIds)].map(parse);
  if (parsed.length === 0 || parsed.some((entry) => !entry)) return { problem: 'name the credential configuration to apply for' };
  const types = new Set(parsed.map((entry) => entry!.typeId));
  if (types.size !== 1) return { problem: 'an application is for one credential type' };
  return { typeId: parsed[0]!.typeId, formats: parsed.map((entry) => entry!.format) };
}
