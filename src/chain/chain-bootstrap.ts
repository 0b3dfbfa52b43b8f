import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Database } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import { ChainClient } from './chain.client.js';
import { ChainContractRepository, type DeployedContract } from './chain-contract.repository.js';
import { OutboxService } from './outbox.service.js';
import { OutboxWorker } from './outbox.worker.js';
import { ChainEvents } from './chain-events.js';
import { Reconciler } from './reconciler.js';
import { EmbeddedNodePortBusyError, type EmbeddedChainNode } from './embedded-node.js';
import { ERC1056_NAME, erc1056EventTopics } from './erc1056.js';
import { CONTRACT_NAMES, contractBytecode, contractInterface, type ContractName } from './contracts.js';

/** Deployed by the bootstrap besides CONTRACT_NAMES: the audit-log anchor (issue 17, ADR 16; no constructor arguments). */
export const AUDIT_ANCHOR_NAME = 'AuditAnchor';
type BootstrapContractName = ContractName | typeof AUDIT_ANCHOR_NAME;
const BOOTSTRAP_CONTRACTS: readonly BootstrapContractName[] = [...CONTRACT_NAMES, AUDIT_ANCHOR_NAME];

const DEPLOYER_OWNER = 'chain:deployer';

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
  /** Period of the reconciler (agency activation, authorisations, anchors); defaults to 30 s. */
  reconcileMs?: number;
}

/** Makes sure the contracts we rely on exist on the configured chain before the service takes traffic. */
@Injectable()
export class ChainBootstrap implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ChainBootstrap');
  private closed = false;
  private addresses: Record<BootstrapContractName, string> | undefined;

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

  async onApplicationBootstrap(): Promise<void> {
    this.addresses = await this.ensureContracts(this.options);
    this.events.watch(this.registryAddress, erc1056EventTopics);
    this.events.watch(this.address('TrustedIssuerRegistry'), [
      contractInterface('TrustedIssuerRegistry').getEvent('IssuerAuthorisation')!.topicHash,
    ]);
    this.worker.start();
    this.events.start();
    this.reconciler.start(this.options.reconcileMs ?? 30_000);
    this.options.embeddedNode?.onCrash(() => void this.recoverEmbeddedNode(this.options.embeddedNode!));
  }

  /**
   * The embedded node is our child process: when it dies we start it again and rebuild its state from
   * the journal. Meanwhile the outbox keeps accepting writes, and the worker sends them afterwards:
   * it is paused until the replay is done, or a new write could land before the contracts exist.
   */
  private async recoverEmbeddedNode(node: EmbeddedChainNode): Promise<void> {
    this.logger.error('embedded chain node died; restarting it');
    await this.worker.stop();
    for (let attempt = 1; ; attempt++) {
      // Bounded exponential backoff: a node that keeps failing is retried at most once a minute.
      await new Promise((resolve) => setTimeout(resolve, restartDelayMs(this.options.embeddedRestartMs, attempt)));
      if (this.closed) return;
      try {
        await node.restart();
        await this.ensureContracts(this.options);
        this.logger.warn({ attempt }, 'embedded chain node restored');
        this.worker.start();
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

  onApplicationShutdown(): void {
    this.closed = true;
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
        throw new Error(
          `Recorded contracts are missing on chain ${this.chain.chainId} (${absent.join(', ')}); was the chain reset?`,
        );
      }
      await this.replayJournal(options.timeoutMs);
      absent = await missing();
      if (absent.length > 0) throw new Error(`Replaying the outbox journal did not restore ${absent.join(', ')}`);
    }
    const addresses = {} as Record<BootstrapContractName, string>;
    for (const name of BOOTSTRAP_CONTRACTS) {
      const configured = options.configured[name];
      if (configured) {
        if (!(await this.chain.hasCode(configured))) {
          throw new Error(`No contract at the configured ${name} address ${configured} on chain ${this.chain.chainId}`);
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
   * nonces, so the rebuilt state (contract addresses, DID documents) is identical to the lost one.
   */
  private async replayJournal(timeoutMs: number): Promise<void> {
    const journal = await this.outbox.minedJournal();
    this.logger.warn({ transactions: journal.length }, 'embedded chain is fresh; replaying the outbox journal');
    const deadline = Date.now() + timeoutMs;
    for (const entry of journal) {
      if (!entry.rawTx || !entry.txHash) continue;
      if (!(await this.chain.provider.getTransactionReceipt(entry.txHash))) {
        await this.chain.provider.broadcastTransaction(entry.rawTx);
        await this.chain.provider.waitForTransaction(entry.txHash, 1, Math.max(1_000, deadline - Date.now()));
      }
    }
  }

  /** The consortium governor's account: deploys our contracts and alone changes the trusted-issuer registry. */
  async governorKeyId(): Promise<string> {
    const existing = await this.keys.findByOwner(DEPLOYER_OWNER, 'service-account');
    if (existing) return existing.id;
    return (await this.keys.createKey('ES256K', 'service-account', DEPLOYER_OWNER)).id;
  }
}
