import { isSettled } from './outbox.entity.js';
import { Injectable } from '@nestjs/common';
import { getAddress, type Log } from 'ethers';
import { SingleFlight } from '../common/index.js';
import type { Tx } from '../persistence/index.js';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient, ChainUnavailableError } from './chain.client.js';
import { ChainEvents, MAX_BLOCKS_PER_QUERY } from './chain-events.js';
import { contractInterface } from './contracts.js';
import {
  activePolicyCall,
  applicationCall,
  decideCall,
  decisionsCall,
  decodeActivePolicy,
  decodeApplicationResult,
  decodeDecisionsResult,
  decodeJointApprovalLog,
  decodePolicyResult,
  expireCall,
  jointApprovalEventTopics,
  policyCall,
  submitCall,
  type ApplicationRecord,
  type DecisionRecord,
  type JointApprovalEvent,
  type PolicyRecord,
} from './joint-approval.js';
import { OutboxService, type ChainWrite } from './outbox.service.js';
import { revertData } from './revert-data.js';

const approval = () => contractInterface('JointApproval');

/** A JointApproval event with the transaction and block it came in. */
export interface JointApprovalLog {
  event: JointApprovalEvent;
  txHash: string;
  blockNumber: number;
  logIndex: number;
}

/** The custom error name in a revert's data (JointApproval's errors), or undefined. */
export function jointApprovalErrorName(data: string | undefined): string | undefined {
  if (!data || data.length < 10) return undefined;
  try {
    return approval().parseError(data)?.name;
  } catch {
    return undefined;
  }
}

/**
 * The department's access to the JointApproval contract (issue 16, ADR 17): reads by eth_call and
 * eth_getLogs, writes (submit, decide) as outbox entries signed by the department's controller key.
 */
@Injectable()
export class JointApprovalChain {
  /**
   * Active-policy reads in flight per credential type: every wallet's authorization request for a type
   * that needs joint approval reads it, and a burst of them shares one read (two eth_calls) instead of
   * sending its own. Nothing is kept: a request after the read settled reads again (ADR 31). A request
   * after a chain write of ours settled (a vote that set a policy, say), or after a policy event was heard,
   * never joins a read from before it: `policyGeneration` is part of the key.
   */
  private readonly activePolicyReads = new SingleFlight<PolicyRecord | undefined>();
  private policyGeneration = 0;

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    private readonly outbox: OutboxService,
    events: ChainEvents,
  ) {
    outbox.onSettled(() => this.policyGeneration++);
    const policyTopics = new Set(['PolicySet', 'PolicyRetired'].map((name) => approval().getEvent(name)!.topicHash));
    events.onLog((log) => {
      if (policyTopics.has(log.topics[0] ?? '')) this.policyGeneration++;
    });
  }

  get address(): string {
    return this.bootstrap.consortium.jointApproval;
  }

  controllerAddress(): Promise<string> {
    return this.bootstrap.controllerAddress();
  }

  private call(data: string): Promise<string> {
    return this.chain.provider.call({ to: this.address, data });
  }

  /** The active policy of a credential type (its bytes32 key), or undefined. */
  activePolicy(credentialType: string): Promise<PolicyRecord | undefined> {
    return this.activePolicyReads.run(`${this.policyGeneration} ${credentialType}`, () => this.readActivePolicy(credentialType));
  }

  private async readActivePolicy(credentialType: string): Promise<PolicyRecord | undefined> {
    const id = decodeActivePolicy(await this.call(activePolicyCall(credentialType)));
    return id === 0n ? undefined : this.policy(id);
  }

  async policy(policyId: bigint): Promise<PolicyRecord | undefined> {
    return decodePolicyResult(policyId, await this.call(policyCall(policyId)));
  }

  async application(applicationId: string): Promise<ApplicationRecord | undefined> {
    return decodeApplicationResult(applicationId, await this.call(applicationCall(applicationId)));
  }

  async decisions(applicationId: string): Promise<DecisionRecord[]> {
    return decodeDecisionsResult(await this.call(decisionsCall(applicationId)));
  }

  /**
   * The JointApproval events of one application from `fromBlock` (its submission's block, when known) to the head, in
   * chain order (the reconciler's catch-up, the timeline), read in ranges a node answers (Besu and others refuse wide
   * eth_getLogs ranges); `toBlock` is the last block read.
   */
  async logsOf(applicationId: string, fromBlock = 0): Promise<{ logs: JointApprovalLog[]; toBlock: number }> {
    const latest = await this.latestBlock();
    const logs: Log[] = [];
    // A start past the head: the chain's blocks were renumbered (the embedded node replayed after a crash); read it all.
    const start = fromBlock > latest + 1 ? 0 : fromBlock;
    for (let from = start; from <= latest; from += MAX_BLOCKS_PER_QUERY) {
      logs.push(
        ...(await this.chain.provider.getLogs({
          address: this.address,
          topics: [jointApprovalEventTopics(), applicationId],
          fromBlock: from,
          toBlock: Math.min(from + MAX_BLOCKS_PER_QUERY - 1, latest),
        })),
      );
    }
    return { logs: this.decoded(logs), toBlock: latest };
  }

  /** ApplicationSubmitted events of blocks from..to (inclusive), in chain order (a department's inbox scan). */
  async submissionsBetween(fromBlock: number, toBlock: number): Promise<JointApprovalLog[]> {
    const logs = await this.chain.provider.getLogs({
      address: this.address,
      topics: [approval().getEvent('ApplicationSubmitted')!.topicHash],
      fromBlock,
      toBlock,
    });
    return this.decoded(logs);
  }

  async latestBlock(): Promise<number> {
    return this.chain.provider.getBlockNumber();
  }

  /**
   * The block the JointApproval contract was deployed in: the first block with its code (binary search
   * over eth_getCode at past blocks, a few dozen calls once per contract), so a scan need not start at 0.
   */
  async deploymentBlock(): Promise<number> {
    const address = this.address;
    let high = await this.latestBlock();
    if ((await this.chain.provider.getCode(address, high)) === '0x') return high;
    let low = 0;
    try {
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if ((await this.chain.provider.getCode(address, middle)) === '0x') low = middle + 1;
        else high = middle;
      }
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw error;
      // A node that keeps only recent state (Besu's default Bonsai storage) cannot answer for old blocks: the scan
      // starts at the genesis instead, once (its cursor is kept), in ranges the node answers.
      return 0;
    }
    return low;
  }

  /** A JointApproval log from ChainEvents, decoded; undefined for another contract's log. */
  decodeLog(log: Log): JointApprovalLog | undefined {
    if (getAddress(log.address) !== getAddress(this.address)) return undefined;
    return this.decoded([log])[0];
  }

  private decoded(logs: readonly Log[]): JointApprovalLog[] {
    const found: JointApprovalLog[] = [];
    for (const log of logs) {
      const event = decodeJointApprovalLog(log);
      if (event) found.push({ event, txHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.index });
    }
    return found;
  }

  /**
   * submit(applicationId, policyId), signed by the controller: prepared before the caller's transaction
   * (the key lookup reads the database, which SQLite serialises), enqueued inside it.
   */
  async submitWrite(applicationId: string, policyId: bigint, ref: string): Promise<ChainWrite> {
    return {
      signerKeyId: await this.bootstrap.governorKeyId(),
      to: this.address,
      data: submitCall(applicationId, policyId),
      purpose: 'approval:submit',
      ref,
    };
  }

  /** decide(...), signed by the controller; prepared outside the transaction like submitWrite. */
  async decisionWrite(applicationId: string, approve: boolean, reasonCode: string): Promise<ChainWrite> {
    return {
      signerKeyId: await this.bootstrap.governorKeyId(),
      to: this.address,
      data: decideCall(applicationId, approve, reasonCode),
      purpose: 'approval:decide',
      ref: `approval:${applicationId}`,
    };
  }

  /**
   * A write of this purpose on this application still on its way (queued, signing or sent, not mined): the
   * contract's simulation cannot see it, so a second decision queued meanwhile would revert once the first is mined.
   */
  async queuedWrite(applicationId: string, purpose: 'approval:decide' | 'approval:expire'): Promise<string | undefined> {
    const entries = await this.outbox.byRef(`approval:${applicationId}`);
    return entries.find((entry) => entry.purpose === purpose && !isSettled(entry.status))?.id;
  }

  /** A prepared write in the caller's transaction; its outbox id. */
  async enqueue(tx: Tx, write: ChainWrite): Promise<string> {
    const [id] = await this.outbox.enqueue(tx, [write]);
    return id!;
  }

  /**
   * Simulates this department's decision (eth_call from the controller): the custom error's name when the
   * contract would refuse it (NotARequiredDepartment, AlreadyDecided, ApplicationNotPending, …).
   */
  decisionRefusal(applicationId: string, approve: boolean, reasonCode: string): Promise<string | undefined> {
    return this.refusal(decideCall(applicationId, approve, reasonCode));
  }

  /** expire(id), signed by the controller (anyone may close an application whose deadline passed). */
  async expireWrite(applicationId: string): Promise<ChainWrite> {
    return {
      signerKeyId: await this.bootstrap.governorKeyId(),
      to: this.address,
      data: expireCall(applicationId),
      purpose: 'approval:expire',
      ref: `approval:${applicationId}`,
    };
  }

  /** Simulates expire(id) from the controller: DeadlineNotPassed, ApplicationNotPending, … or undefined. */
  expireRefusal(applicationId: string): Promise<string | undefined> {
    return this.refusal(expireCall(applicationId));
  }

  /** Runs a call from the controller by eth_call; the contract's custom error name when it reverts. */
  private async refusal(data: string): Promise<string | undefined> {
    try {
      await this.chain.provider.call({ from: await this.controllerAddress(), to: this.address, data });
      return undefined;
    } catch (error) {
      const name = jointApprovalErrorName(revertData(error));
      if (name) return name;
      throw error;
    }
  }
}
