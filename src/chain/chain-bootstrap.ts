import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BackgroundJob, untilReachable, worthLogging } from '../common/index.js';
import { Database } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import { ChainClient, ChainUnavailableError } from './chain.client.js';
import { ChainContractRepository, type DeployedContract } from './chain-contract.repository.js';
import { OutboxService } from './outbox.service.js';
import { OutboxWorker } from './outbox.worker.js';
import { ChainEvents } from './chain-events.js';
import { Reconciler } from './reconciler.js';
import { EmbeddedNodePortBusyError, type EmbeddedChainNode } from './embedded-node.js';
import { ERC1056_NAME, erc1056EventTopics } from './erc1056.js';
import { CONTRACT_NAMES, contractBytecode, contractInterface, type ContractName } from './contracts.js';
import {
  deployConsortium,
  NotAConsortium,
  readConsortium,
  verifyConsortiumCode,
  type ConsortiumAddresses,
  type ConsortiumFounding,
  type Founder,
} from './consortium-bootstrap.js';
import { governanceEventTopics } from './consortium-governance.js';
import { dataSharingEventTopics } from './data-sharing.js';
import { catalogueEventTopics } from './consortium-registries.js';
import { jointApprovalEventTopics } from './joint-approval.js';

/** Deployed by the bootstrap besides CONTRACT_NAMES: the audit-log anchor (issue 17, ADR 16; no constructor arguments). */
export const AUDIT_ANCHOR_NAME = 'AuditAnchor';
type BootstrapContractName = ContractName | typeof AUDIT_ANCHOR_NAME;
const BOOTSTRAP_CONTRACTS: readonly BootstrapContractName[] = [...CONTRACT_NAMES, AUDIT_ANCHOR_NAME];

const DEPLOYER_OWNER = 'chain:deployer';
/** chain_contracts name of the governance this department follows (its registries are read from it). */
const CONSORTIUM_RECORD = 'ConsortiumGovernance';

export const CHAIN_OPTIONS = Symbol('CHAIN_OPTIONS');

/** Delay before restart attempt n: the configured delay, doubled per failed attempt, at most 60 s. */
export const restartDelayMs = (baseMs: number, attempt: number): number =>
  Math.min(Math.max(baseMs, 100) * 2 ** Math.min(attempt - 1, 10), 60_000);

export interface ChainOptions {
  /** Addresses from configuration; the others are deployed once and recorded. */
  configured: Partial<Record<BootstrapContractName, string>>;
  /** The embedded node keeps no state across restarts; we rebuild it from the outbox journal. */
  embeddedNode: EmbeddedChainNode | undefined;
  /** How long a crashed embedded node stays down before it is restarted. */
  embeddedRestartMs: number;
  timeoutMs: number;
  pollMs: number;
  outboxPollMs: number;
  priorityFeeWei: bigint;
  /** The consortium (ADR 15): a configured governance to follow, or what to found one with. */
  consortium?: { address?: string; departmentName: string; founders: Founder[]; threshold: number };
  /** Period of the reconciler (agency activation, authorisations, anchors); defaults to 30 s. */
  reconcileMs?: number;
}

/** Our contracts are not on the chain we were given: nothing to wait for, and nothing we can repair alone. */
export class ChainStateLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainStateLostError';
  }
}

/** The node is on another chain than CHAIN_ID: a configuration error, nothing to wait for. */
export class WrongChainError extends Error {
  constructor(problem: string) {
    super(`${problem}: set CHAIN_ID to the consortium chain's id, or CHAIN_RPC_URL to a node of it`);
    this.name = 'WrongChainError';
  }
}

/** Makes sure the contracts we rely on exist on the configured chain before the service takes traffic. */
@Injectable()
export class ChainBootstrap implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ChainBootstrap');
  private closed = false;
  private addresses: Record<BootstrapContractName, string> | undefined;
  private consortiumAddresses: ConsortiumAddresses | undefined;
  private readonly consortiumListeners: ((addresses: ConsortiumAddresses) => void)[] = [];
  private consortiumTimer: NodeJS.Timeout | undefined;
  /** One log line per database or chain outage, not one per period. */
  private readonly consortiumJob = new BackgroundJob(this.logger, 'consortium sync');
  private consortiumSync: Promise<ConsortiumAddresses> | undefined;

  constructor(
    private readonly db: Database,
    private readonly contracts: ChainContractRepository,
    private readonly chain: ChainClient,
    private readonly keys: KeyService,
    private readonly outbox: OutboxService,
    private readonly worker: OutboxWorker,
    private readonly events: ChainEvents,
    private readonly reconciler: Reconciler,
    @Inject(CHAIN_OPTIONS) private readonly options: ChainOptions,
  ) {}

  /** The ERC-1056 registry the service writes to and resolves against. */
  get registryAddress(): string {
    return this.address(ERC1056_NAME);
  }

  address(name: BootstrapContractName): string {
    if (!this.addresses) throw new Error('The chain is not bootstrapped yet');
    return this.addresses[name];
  }

  /** The consortium this department follows: governance and governed registries. */
  get consortium(): ConsortiumAddresses {
    if (!this.consortiumAddresses) throw new Error('The consortium is not bootstrapped yet');
    return this.consortiumAddresses;
  }

  /** Called whenever the department starts following a consortium (start-up, consortium:init or join). */
  onConsortium(listener: (addresses: ConsortiumAddresses) => void): void {
    this.consortiumListeners.push(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Replicas starting together on a fresh database would each deploy (and found a consortium): one at a time,
    // each later one adopting what the first recorded. Restarted while an external node is down: wait for it.
    const bootstrap = () =>
      this.db.exclusively('chancery:chain-bootstrap', async () => {
        // A wrong CHAIN_ID is a configuration error: refuse to start rather than queue writes no node will take.
        const wrongChain = await this.chain.chainIdProblem();
        if (wrongChain) throw new WrongChainError(wrongChain);
        this.addresses = await this.ensureContracts(this.options);
        this.events.watch(this.registryAddress, erc1056EventTopics);
        this.events.watch(this.address('TrustedIssuerRegistry'), [
          contractInterface('TrustedIssuerRegistry').getEvent('IssuerAuthorisation')!.topicHash,
        ]);
        // The consortium's writes go through the outbox: the worker runs while it is deployed.
        this.worker.start();
        this.follow(await this.ensureConsortium());
      });
    await untilReachable(bootstrap, {
      isOutage: (error) => !this.options.embeddedNode && error instanceof ChainUnavailableError,
      onWait: (_error, attempt) => {
        if (worthLogging(attempt))
          this.logger.warn({ event: 'chain_unreachable_at_start', attempt }, 'waiting for the chain node');
      },
    });
    // Another replica may found or join a consortium (consortium:init, join): every replica follows the recorded
    // one within a reconcile period; the operator's consortium routes look before each call (syncConsortium).
    this.consortiumTimer = setInterval(
      () => void this.consortiumJob.run(() => this.syncConsortium()),
      this.options.reconcileMs ?? 30_000,
    );
    this.consortiumTimer.unref();
    this.events.start();
    this.reconciler.start(this.options.reconcileMs ?? 30_000);
    this.options.embeddedNode?.onCrash(() => this.onEmbeddedNodeCrash(this.options.embeddedNode!));
  }

  private recovery: Promise<void> | undefined;
  private crashedDuringRecovery = false;

  /** One recovery at a time: a node that dies again while being restored makes the running one start over. */
  private onEmbeddedNodeCrash(node: EmbeddedChainNode): void {
    if (this.recovery) {
      this.crashedDuringRecovery = true;
      return;
    }
    this.recovery = this.recoverEmbeddedNode(node).finally(() => (this.recovery = undefined));
  }

  /**
   * The embedded node is our child process: when it dies we start it again and rebuild its state from
   * the journal. Meanwhile the outbox keeps accepting writes, and the worker sends them afterwards:
   * it is paused until the replay is done, or a new write could land before the contracts exist.
   */
  private async recoverEmbeddedNode(node: EmbeddedChainNode): Promise<void> {
    this.logger.error('embedded chain node died; restarting it');
    // Until the journal is replayed, the node answers with part of the state: nothing is reconciled from it.
    this.reconciler.hold();
    await this.worker.stop();
    for (let attempt = 1; ; attempt++) {
      // Bounded exponential backoff: a node that keeps failing is retried at most once a minute.
      await new Promise((resolve) => setTimeout(resolve, restartDelayMs(this.options.embeddedRestartMs, attempt)));
      if (this.closed) return;
      try {
        this.crashedDuringRecovery = false;
        // Every other request to the chain is refused as unavailable until the state is whole again.
        await this.chain.rebuilding(async () => {
          await node.restart();
          await this.ensureContracts(this.options);
        });
        if (this.crashedDuringRecovery) continue; // died again meanwhile: what was replayed is gone
        this.logger.warn({ attempt }, 'embedded chain node restored');
        this.worker.start();
        this.reconciler.release();
        return;
      } catch (error) {
        if (error instanceof EmbeddedNodePortBusyError) {
          // Not ours (an orphan or another program): restarting cannot help; health stays down.
          this.logger.fatal({ port: error.port, chainId: error.foundChainId }, error.message);
          return;
        }
        this.logger.error({ err: error, attempt }, 'restoring the embedded chain node failed');
      }
    }
  }

  /**
   * The consortium to follow: the configured governance (joining; nothing is deployed), the recorded one,
   * or a new one founded by this department's controller key (the embedded default: one member,
   * threshold 1, so everything works with no set-up).
   */
  private async ensureConsortium(): Promise<ConsortiumAddresses> {
    const options = this.options.consortium ?? { departmentName: 'Chancery department', founders: [], threshold: 1 };
    const recorded = await this.recorded(CONSORTIUM_RECORD);
    if (options.address) {
      const configured = await readConsortium(this.chain, options.address);
      // Checked when first followed here, then recorded. A configured governance is the operator's own choice and may
      // be a consortium of an earlier release (whose contract code differs: a release before this one never recorded
      // the address, so an upgrade looks like a first start): the service follows it and says so, it does not stop.
      // consortium:join refuses instead (ADR 47).
      if (recorded?.address !== configured.governance) {
        await verifyConsortiumCode(this.chain, configured).catch((error: unknown) => {
          if (!(error instanceof NotAConsortium)) throw error;
          this.logger.warn(
            { event: 'consortium_code_differs', governance: configured.governance, reason: error.message },
            'the configured consortium does not run this release’s contract code; following it because it is configured',
          );
        });
        await this.adoptConsortium(configured);
      }
      return configured;
    }
    if (recorded) return readConsortium(this.chain, recorded.address);
    const self = { member: await this.controllerAddress(), name: options.departmentName };
    return this.foundConsortium('auto', { founders: [self, ...options.founders], threshold: options.threshold });
  }

  /**
   * consortium:init: deploys a consortium with these founders (and threshold), records it and follows it.
   * `generation` names the attempt, so that a retried call finds its writes instead of sending them again.
   */
  async foundConsortium(generation: string, founding: ConsortiumFounding): Promise<ConsortiumAddresses> {
    const ref = `consortium:${generation}`;
    const signerKeyId = await this.governorKeyId();
    const addresses = await deployConsortium(async ({ purpose, to, data }) => {
      const existing = (await this.outbox.byRef(ref)).find((entry) => entry.purpose === purpose && entry.status !== 'reverted');
      let outboxId = existing?.id;
      if (!outboxId) {
        [outboxId] = await this.db.transaction((tx) => this.outbox.enqueue(tx, [{ signerKeyId, to, data, purpose, ref }]));
      }
      return this.outbox.waitFinal(outboxId!, this.options.timeoutMs);
    }, founding);
    await this.adoptConsortium(addresses);
    this.logger.log({ ...addresses, members: founding.founders.length, threshold: founding.threshold }, 'consortium founded');
    return addresses;
  }

  /** Follows the consortium of this governance from now on (consortium:join, or after founding one). */
  async joinConsortium(governanceAddress: string): Promise<ConsortiumAddresses> {
    const addresses = await readConsortium(this.chain, governanceAddress);
    await verifyConsortiumCode(this.chain, addresses);
    return this.adoptConsortium(addresses);
  }

  private async adoptConsortium(addresses: ConsortiumAddresses): Promise<ConsortiumAddresses> {
    await this.contracts.recordDeployment({
      chainId: this.chain.chainId,
      name: CONSORTIUM_RECORD,
      address: addresses.governance,
      outboxId: null,
    });
    if (this.consortiumAddresses) this.follow(addresses);
    return addresses;
  }

  /**
   * Follows the consortium recorded in the database when another replica founded or joined one since this one
   * last looked (the address in memory is only a copy). A configured governance never changes at run time.
   */
  syncConsortium(): Promise<ConsortiumAddresses> {
    this.consortiumSync ??= this.followRecorded().finally(() => {
      this.consortiumSync = undefined;
    });
    return this.consortiumSync;
  }

  private async followRecorded(): Promise<ConsortiumAddresses> {
    const current = this.consortium;
    if (this.consortiumConfigured) return current;
    const recorded = await this.recorded(CONSORTIUM_RECORD);
    if (!recorded || recorded.address === current.governance) return current;
    const addresses = await readConsortium(this.chain, recorded.address);
    if (this.consortiumAddresses?.governance !== addresses.governance) {
      this.logger.log({ governance: addresses.governance }, 'following the consortium another replica recorded');
      this.follow(addresses);
    }
    return addresses;
  }

  /** Whether a configured governance pins this department to its consortium (no init or join at run time). */
  get consortiumConfigured(): boolean {
    return Boolean(this.options.consortium?.address);
  }

  private follow(addresses: ConsortiumAddresses): void {
    // The consortium followed until now (consortium:init or join moves to another): its contracts' events would still
    // trigger reconciles and cache flushes here, and fill every poll.
    const previous = this.consortiumAddresses;
    if (previous && previous.governance !== addresses.governance)
      for (const [address] of consortiumEvents(previous)) this.events.unwatch(address);
    this.consortiumAddresses = addresses;
    for (const [address, topics] of consortiumEvents(addresses)) this.events.watch(address, topics);
    for (const listener of this.consortiumListeners) listener(addresses);
  }

  /** This department's controller address: its member address in the consortium. */
  async controllerAddress(): Promise<string> {
    return (await this.keys.getKey(await this.governorKeyId())).address!;
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearInterval(this.consortiumTimer);
  }

  /**
   * Makes sure every contract we use exists: configured, recorded (and, on a fresh embedded node,
   * restored by replaying the journal), or freshly deployed. Returns their addresses by name.
   */
  async ensureContracts(options: ChainOptions): Promise<Record<BootstrapContractName, string>> {
    const recorded = new Map<BootstrapContractName, string>();
    for (const name of BOOTSTRAP_CONTRACTS) {
      if (options.configured[name]) continue;
      const found = await this.recorded(name);
      if (found) recorded.set(name, found.address);
    }
    const missing = async () => {
      const absent: string[] = [];
      for (const [name, address] of recorded) if (!(await this.chain.hasCode(address))) absent.push(`${name} at ${address}`);
      return absent;
    };
    let absent = await missing();
    if (absent.length > 0) {
      if (!options.embeddedNode) {
        throw new ChainStateLostError(
          `Recorded contracts are missing on chain ${this.chain.chainId} (${absent.join(', ')}): the node lost its state. ` +
            'Restore it (from a backup or another validator) and start again; see the README, "Chain node lost its state".',
        );
      }
      await this.replayJournal(options.timeoutMs, options.embeddedNode);
      absent = await missing();
      if (absent.length > 0) throw new Error(`Replaying the outbox journal did not restore ${absent.join(', ')}`);
    }
    const addresses = {} as Record<BootstrapContractName, string>;
    for (const name of BOOTSTRAP_CONTRACTS) {
      const configured = options.configured[name];
      if (configured) {
        if (!(await this.chain.hasCode(configured))) {
          throw new ChainStateLostError(
            `No contract at the configured ${name} address ${configured} on chain ${this.chain.chainId}: a wrong address, ` +
              'or the node lost its state (see the README, "Chain node lost its state")',
          );
        }
        addresses[name] = configured;
      } else {
        addresses[name] = recorded.get(name) ?? (await this.deploy(name, contractBytecode(name), options.timeoutMs));
      }
    }
    return addresses;
  }

  /** Deploys a contract through the outbox (so it is journaled like every other write) and records it. */
  async deploy(name: string, bytecode: string, timeoutMs: number): Promise<string> {
    const existing = (await this.outbox.byPurpose(`deploy:${name}`)).find((entry) => entry.status !== 'reverted');
    let outboxId = existing?.id;
    if (!outboxId) {
      const deployer = await this.governorKeyId();
      [outboxId] = await this.db.transaction((tx) =>
        this.outbox.enqueue(tx, [{ signerKeyId: deployer, to: null, data: bytecode, purpose: `deploy:${name}` }]),
      );
    }
    await this.worker.drain();
    const entry = await this.outbox.waitFinal(outboxId!, timeoutMs);
    if (entry.status !== 'mined' || !entry.contractAddress) throw new Error(`Deploying ${name} failed: ${entry.lastError}`);
    await this.contracts.recordDeployment({
      chainId: this.chain.chainId,
      name,
      address: entry.contractAddress,
      outboxId: entry.id,
    });
    this.logger.log({ name, address: entry.contractAddress, chainId: this.chain.chainId }, 'contract deployed');
    return entry.contractAddress;
  }

  recorded(name: string): Promise<DeployedContract | null> {
    return this.contracts.recorded(this.chain.chainId, name);
  }

  /**
   * Re-sends every mined transaction, in chain order, to a fresh embedded node. Same signed bytes, same
   * nonces, at the same block times, so the rebuilt state (contract addresses, DID documents, proposals
   * and their expiries, permissions) is identical to the lost one: a proposal replayed later than it was
   * made could revert (BadExpiry), a permission come out expired. The node is restarted with its genesis
   * before the first journaled block when needed; afterwards its clock is moved on to now.
   */
  private async replayJournal(timeoutMs: number, node: EmbeddedChainNode): Promise<void> {
    const journal = (await this.outbox.minedJournal()).filter((entry) => entry.rawTx && entry.txHash);
    this.logger.warn({ transactions: journal.length }, 'embedded chain is fresh; replaying the outbox journal');
    const provider = this.chain.provider;
    const latestTime = async () => (await provider.getBlock('latest'))!.timestamp;
    const first = journal.find((entry) => entry.blockTimestamp !== null)?.blockTimestamp;
    if (first !== undefined && first !== null && (await latestTime()) >= first) {
      await node.restart(timeoutMs, new Date((first - 60) * 1000));
    }
    const deadline = Date.now() + timeoutMs;
    for (const entry of journal) {
      if (await provider.getTransactionReceipt(entry.txHash!)) continue;
      if (entry.blockTimestamp !== null && entry.blockTimestamp > (await latestTime())) {
        await provider.send('evm_setNextBlockTimestamp', [entry.blockTimestamp]);
      }
      try {
        await this.chain.sendRawTransaction(entry.rawTx!);
      } catch (error) {
        // Hardhat answers an automined reverting transaction with an error although it mined it.
        if (entry.status !== 'reverted') throw error;
      }
      if (!(await this.chain.waitForReceipt(entry.txHash!, Math.max(1_000, deadline - Date.now())))) {
        throw new Error(`journal replay: transaction ${entry.txHash} was not mined in time`);
      }
    }
    const now = Math.floor(Date.now() / 1000);
    if (now > (await latestTime())) {
      await provider.send('evm_setNextBlockTimestamp', [now]);
      await provider.send('evm_mine', []);
    }
  }

  /** The consortium governor's account: deploys our contracts and alone changes the trusted-issuer registry. */
  async governorKeyId(): Promise<string> {
    const existing = await this.keys.findByOwner(DEPLOYER_OWNER, 'service-account');
    if (existing) return existing.id;
    return (await this.keys.createKey('ES256K', 'service-account', DEPLOYER_OWNER)).id;
  }
}

/** The consortium's contracts this department follows, with the events it reads of each. */
function consortiumEvents(addresses: ConsortiumAddresses): [string, string[]][] {
  return [
    [addresses.issuerRegistry, [contractInterface('GovernedIssuerRegistry').getEvent('IssuerAuthorisation')!.topicHash]],
    [addresses.governance, governanceEventTopics()],
    [addresses.dataSharing, dataSharingEventTopics()],
    [addresses.catalogue, catalogueEventTopics()],
    [addresses.jointApproval, jointApprovalEventTopics()],
  ];
}
