import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { getAddress, isError } from 'ethers';
import { chainUnavailable, conflict, ProblemError } from '../common/index.js';
import { Database } from '../persistence/index.js';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient, ChainUnavailableError } from './chain.client.js';
import { contractInterface } from './contracts.js';
import { NotAConsortium, type ConsortiumAddresses, type Founder } from './consortium-bootstrap.js';
import {
  decodeGovernanceLog,
  decodeProposalResult,
  proposalCall,
  governanceWriteIdentity,
  proposeCall,
  voteCall,
  type ProposalAction,
  type ProposalState,
} from './consortium-governance.js';
import { OutboxService, type OutboxEntry } from './outbox.service.js';
import { decodePolicyResult, policyCall, type PolicyRecord } from './joint-approval.js';
import { contractErrorName, revertData } from './revert-data.js';

const governance = () => contractInterface('ConsortiumGovernance');

/** How long a write of the operator API is waited for before it answers "pending". */
const WRITE_WAIT_MS = 30_000;
/** Most joint-approval policies one listing reads (newest first). */
export const APPROVAL_POLICY_LIST_MAX = 100;
/** Most proposals one listing reads (newest first). */
export const PROPOSAL_LIST_MAX = 100;
/** Proposals read per page when only the open ones are asked for. */
export const PROPOSAL_SCAN_MAX = 2_000;

export interface ConsortiumStatus extends ConsortiumAddresses {
  /** This department: its controller address (what other members vote in) and whether it is a member. */
  department: { controller: string; member: boolean; name: string | null };
  members: { address: string; name: string }[];
  threshold: number;
  proposalCount: number;
  /** Whether CHAIN_CONSORTIUM_ADDRESS pins this department (no consortium:init or join at run time). */
  configured: boolean;
}

export interface ProposalView {
  id: string;
  state: ProposalState;
  action: Record<string, unknown>;
  proposer: string;
  createdAt: number;
  expiresAt: number;
  executedAt: number;
  approvals: number;
  voters: string[];
}

export interface GovernanceWriteResult {
  outboxId: string;
  status: 'mined' | 'pending';
  txHash: string | null;
  proposalId: string | null;
  /** Null when the write is mined but its receipt could not be read just after (see the proposals list). */
  executed: boolean | null;
}

/** JSON-friendly action: bigint ids as decimal strings. */
export const actionView = (action: ProposalAction): Record<string, unknown> =>
  JSON.parse(JSON.stringify(action, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) as Record<
    string,
    unknown
  >;

/** The custom error a refused write names (from the "would revert" message the outbox worker stored). */
export function revertReason(lastError: string | null): string {
  return contractErrorName(/data="(0x[0-9a-fA-F]*)"/.exec(lastError ?? '')?.[1]);
}

const governanceRefused = (reason: string) =>
  new ProblemError(409, 'proposal_refused', 'Refused by the consortium contract', `The governance refused: ${reason}`, {
    reason,
  });

/**
 * The department's part in the consortium (ADR 15): reads members, threshold and proposals straight from
 * the governance contract; proposals and votes are outbox writes signed by the controller key.
 */
@Injectable()
export class ConsortiumService {
  constructor(
    private readonly db: Database,
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    private readonly outbox: OutboxService,
  ) {}

  private async view<T>(name: string, args: unknown[] = []): Promise<T> {
    const result = await this.chain.provider.call({
      to: (await this.bootstrap.syncConsortium()).governance,
      data: governance().encodeFunctionData(name, args),
    });
    return governance().decodeFunctionResult(name, result)[0] as T;
  }

  /** Whether the address is a member of the consortium now (the governance contract's view). */
  async isMember(address: string): Promise<boolean> {
    return this.view<boolean>('isMember', [address]);
  }

  async status(): Promise<ConsortiumStatus> {
    const controller = await this.bootstrap.controllerAddress();
    const consortium = await this.bootstrap.syncConsortium();
    const members = await Promise.all(
      [...(await this.view<string[]>('members'))].map(async (address) => ({
        address: getAddress(address),
        name: await this.view<string>('memberName', [address]),
      })),
    );
    const self = members.find((member) => member.address === controller);
    return {
      ...consortium,
      department: { controller, member: Boolean(self), name: self?.name ?? null },
      members,
      threshold: Number(await this.view<bigint>('threshold')),
      proposalCount: Number(await this.view<bigint>('proposalCount')),
      configured: this.bootstrap.consortiumConfigured,
    };
  }

  /** A proposal as the governance stores it (state, action, proposer, times); 404 when there is none. */
  private async proposalRecord(id: bigint): Promise<ReturnType<typeof decodeProposalResult>> {
    const result = await this.chain.provider.call({
      to: (await this.bootstrap.syncConsortium()).governance,
      data: proposalCall(id),
    });
    try {
      return decodeProposalResult(result);
    } catch {
      throw new ProblemError(404, 'not_found', 'Not found', `No proposal ${id} in this consortium`);
    }
  }

  async proposal(id: bigint): Promise<ProposalView> {
    return this.proposalView(id, await this.proposalRecord(id));
  }

  private async proposalView(id: bigint, record: ReturnType<typeof decodeProposalResult>): Promise<ProposalView> {
    const voters = [...(await this.view<string[]>('voters', [id]))].map((voter) => getAddress(voter));
    return {
      id: id.toString(),
      state: record.state,
      action: actionView(record.action),
      proposer: record.proposer,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      executedAt: record.executedAt,
      approvals: Number(await this.view<bigint>('approvalsOf', [id])),
      voters,
    };
  }

  /**
   * The newest proposals first, at most `limit`; with `before`, those older than that id (the next page); with `open`,
   * only those still open to votes. A member may file any number of proposals (gas is free on a consortium chain): an
   * operator pages on, or asks for the open ones, so a flood cannot hide one from the members who must vote on it. The
   * open filter reads the state of at most PROPOSAL_SCAN_MAX proposals per page.
   */
  async proposals(options: { limit?: number; before?: bigint; open?: boolean } = {}): Promise<ProposalView[]> {
    const limit = Math.min(options.limit ?? PROPOSAL_LIST_MAX, PROPOSAL_LIST_MAX);
    const count = await this.view<bigint>('proposalCount');
    const start = options.before !== undefined && options.before - 1n < count ? options.before - 1n : count;
    const views: ProposalView[] = [];
    let scanned = 0;
    for (let id = start; id >= 1n && views.length < limit && scanned < PROPOSAL_SCAN_MAX; id--, scanned++) {
      const record = await this.proposalRecord(id);
      if (options.open && record.state !== 'Open') continue;
      views.push(await this.proposalView(id, record));
    }
    return views;
  }

  /** The joint-approval policies (issue 16), newest first, at most APPROVAL_POLICY_LIST_MAX; retired ones too. */
  async approvalPolicies(): Promise<PolicyRecord[]> {
    const to = (await this.bootstrap.syncConsortium()).jointApproval;
    const approval = contractInterface('JointApproval');
    const count = approval.decodeFunctionResult(
      'policyCount',
      await this.chain.provider.call({ to, data: approval.encodeFunctionData('policyCount') }),
    )[0] as bigint;
    const policies: PolicyRecord[] = [];
    for (let id = count; id >= 1n && policies.length < APPROVAL_POLICY_LIST_MAX; id--) {
      const found = decodePolicyResult(id, await this.chain.provider.call({ to, data: policyCall(id) }));
      if (found) policies.push(found);
    }
    return policies;
  }

  /** Proposes an action (which is this member's vote); executes at once when that meets the threshold. */
  propose(action: ProposalAction, lifetimeSeconds: number): Promise<GovernanceWriteResult> {
    const expiresAt = Math.floor(Date.now() / 1000) + lifetimeSeconds;
    return this.write(`consortium:propose:${action.kind}`, proposeCall(action, expiresAt));
  }

  /** This member's vote on a proposal; the vote that meets the threshold executes it. */
  async vote(proposalId: bigint): Promise<GovernanceWriteResult> {
    // 404 for a proposal that does not exist (the contract says ProposalNotOpen); when the chain cannot be asked,
    // the vote is queued as every write is during an outage.
    await this.proposal(proposalId).catch((error: unknown) => {
      if (error instanceof ProblemError && error.status === 404) throw error;
    });
    return this.write('consortium:vote', voteCall(proposalId));
  }

  private async write(purpose: string, data: string): Promise<GovernanceWriteResult> {
    const signerKeyId = await this.bootstrap.governorKeyId();
    const to = (await this.bootstrap.syncConsortium()).governance;
    // An operator's mistake (a threshold above the member count, a member that is none, a second vote) is refused
    // here, by the contract itself through eth_call, instead of being queued, signed, and dropped by the worker.
    const refusal = await this.refusalOf(to, data);
    if (refusal) throw governanceRefused(refusal);
    // The same write still on its way (an operator retrying after a timeout during an outage): eth_call cannot see
    // it, and a second copy would revert once the first is mined. One at a time, across replicas.
    const outboxId = await this.db.exclusively(`chancery:governance-write:${purpose}`, async () => {
      const identity = governanceWriteIdentity(data);
      const queued = (await this.outbox.open()).find(
        (entry) => entry.purpose === purpose && governanceWriteIdentity(entry.data) === identity,
      );
      if (queued)
        throw governanceRefused(
          `the same ${purpose.slice('consortium:'.length)} is on its way to the chain (outbox ${queued.id})`,
        );
      const [id] = await this.db.transaction((tx) => this.outbox.enqueue(tx, [{ signerKeyId, to, data, purpose }]));
      return id!;
    });
    let entry: OutboxEntry;
    try {
      entry = await this.outbox.waitFinal(outboxId, WRITE_WAIT_MS);
    } catch {
      return { outboxId, status: 'pending', txHash: null, proposalId: null, executed: false };
    }
    if (entry.status === 'reverted') throw governanceRefused(revertReason(entry.lastError));
    // The write is mined: a node that cannot be read now leaves proposalId unknown rather than failing the answer
    // (a retried proposal would be a second one, and this member's second vote).
    const receipt = entry.txHash ? await this.chain.provider.getTransactionReceipt(entry.txHash).catch(() => null) : null;
    let proposalId: bigint | null = null;
    let executed = false;
    for (const log of receipt?.logs ?? []) {
      const event = decodeGovernanceLog(log);
      if (event?.event === 'ProposalCreated' || event?.event === 'ProposalVoted') proposalId = event.proposalId;
      if (event?.event === 'ProposalExecuted') executed = true;
    }
    return {
      outboxId: entry.id,
      status: 'mined',
      txHash: entry.txHash,
      proposalId: proposalId?.toString() ?? null,
      executed: receipt ? executed : null,
    };
  }

  /**
   * The contract's refusal of a write from our controller, by eth_call; undefined when it would pass, or when the
   * chain cannot be asked (the write is queued then, as every write is during an outage, and settled later).
   */
  private async refusalOf(to: string, data: string): Promise<string | undefined> {
    try {
      await this.chain.provider.call({ from: await this.bootstrap.controllerAddress(), to, data });
      return undefined;
    } catch (error) {
      return isError(error, 'CALL_EXCEPTION') ? contractErrorName(revertData(error)) : undefined;
    }
  }

  /** consortium:init: deploys a consortium founded by this department and the given members, and follows it. */
  async init(founders: Founder[], threshold: number, departmentName: string): Promise<ConsortiumStatus> {
    if (this.bootstrap.consortiumConfigured) {
      throw conflict('CHAIN_CONSORTIUM_ADDRESS pins this department to its consortium; unset it to found another');
    }
    const self = { member: await this.bootstrap.controllerAddress(), name: departmentName };
    const all = [self, ...founders.filter((founder) => getAddress(founder.member) !== self.member)];
    if (threshold > all.length) throw conflict(`A threshold of ${threshold} needs at least as many founding members`);
    await this.bootstrap.foundConsortium(randomUUID(), { founders: all, threshold });
    return this.status();
  }

  /** A department joins: it follows an existing consortium; members then vote its controller in (AddMember). */
  async join(governanceAddress: string): Promise<ConsortiumStatus> {
    if (this.bootstrap.consortiumConfigured) {
      throw conflict('CHAIN_CONSORTIUM_ADDRESS pins this department to its consortium; change it there');
    }
    try {
      await this.bootstrap.joinConsortium(governanceAddress);
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw chainUnavailable();
      // Anything else (the database, a library's message with its call data) is not the operator's to read.
      if (error instanceof NotAConsortium) throw conflict(error.message);
      throw error;
    }
    return this.status();
  }
}
