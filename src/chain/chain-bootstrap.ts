import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Database } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import { ChainClient } from './chain.client.js';
import { ChainContractEntity } from './outbox.entity.js';
import { OutboxService } from './outbox.service.js';
import { OutboxWorker } from './outbox.worker.js';
import { ChainEvents } from './chain-events.js';
import type { EmbeddedChainNode } from './embedded-node.js';
import { ERC1056_NAME, erc1056Bytecode, erc1056EventTopics } from './erc1056.js';

const DEPLOYER_OWNER = 'chain:deployer';

export const CHAIN_OPTIONS = Symbol('CHAIN_OPTIONS');

export interface ChainOptions {
  configuredRegistry: string | undefined;
  /** The embedded node keeps no state across restarts; we rebuild it from the outbox journal. */
  embeddedNode: EmbeddedChainNode | undefined;
  /** How long a crashed embedded node stays down before it is restarted. */
  embeddedRestartMs: number;
  timeoutMs: number;
  pollMs: number;
  outboxPollMs: number;
  priorityFeeWei: bigint;
}

/** Makes sure the contracts we rely on exist on the configured chain before the service takes traffic. */
@Injectable()
export class ChainBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('ChainBootstrap');
  private registry: string | undefined;

  constructor(
    private readonly db: Database,
    private readonly chain: ChainClient,
    private readonly keys: KeyService,
    private readonly outbox: OutboxService,
    private readonly worker: OutboxWorker,
    private readonly events: ChainEvents,
    @Inject(CHAIN_OPTIONS) private readonly options: ChainOptions,
  ) {}

  /** The ERC-1056 registry the service writes to and resolves against. */
  get registryAddress(): string {
    if (!this.registry) throw new Error('The chain is not bootstrapped yet');
    return this.registry;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.registry = await this.ensureRegistry(this.options);
    this.events.watch(this.registry, erc1056EventTopics);
    this.worker.start();
    this.events.start();
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
      await new Promise((resolve) => setTimeout(resolve, this.options.embeddedRestartMs));
      try {
        await node.restart();
        await this.ensureRegistry(this.options);
        this.logger.warn({ attempt }, 'embedded chain node restored');
        this.worker.start();
        return;
      } catch (error) {
        this.logger.error({ err: error, attempt }, 'restoring the embedded chain node failed');
      }
    }
  }

  /** Returns the ERC-1056 registry address: configured, recorded, replayed, or freshly deployed. */
  async ensureRegistry(options: ChainOptions): Promise<string> {
    if (options.configuredRegistry) {
      if (!(await this.chain.hasCode(options.configuredRegistry))) {
        throw new Error(`No contract at CHAIN_REGISTRY_ADDRESS ${options.configuredRegistry} on chain ${this.chain.chainId}`);
      }
      return options.configuredRegistry;
    }
    const recorded = await this.recorded(ERC1056_NAME);
    if (recorded) {
      if (await this.chain.hasCode(recorded.address)) return recorded.address;
      if (!options.embeddedNode) {
        throw new Error(
          `The ${ERC1056_NAME} recorded at ${recorded.address} is missing on chain ${this.chain.chainId}; was the chain reset?`,
        );
      }
      await this.replayJournal(options.timeoutMs);
      if (await this.chain.hasCode(recorded.address)) return recorded.address;
      throw new Error(`Replaying the outbox journal did not restore ${ERC1056_NAME} at ${recorded.address}`);
    }
    return this.deploy(ERC1056_NAME, erc1056Bytecode, options.timeoutMs);
  }

  /** Deploys a contract through the outbox (so it is journaled like every other write) and records it. */
  async deploy(name: string, bytecode: string, timeoutMs: number): Promise<string> {
    const existing = (await this.outbox.byPurpose(`deploy:${name}`)).find((entry) => entry.status !== 'reverted');
    let outboxId = existing?.id;
    if (!outboxId) {
      const deployer = await this.deployerKey();
      [outboxId] = await this.db.transaction((tx) =>
        this.outbox.enqueue(tx, [{ signerKeyId: deployer, to: null, data: bytecode, purpose: `deploy:${name}` }]),
      );
    }
    await this.worker.drain();
    const entry = await this.outbox.waitFinal(outboxId!, timeoutMs);
    if (entry.status !== 'mined' || !entry.contractAddress) throw new Error(`Deploying ${name} failed: ${entry.lastError}`);
    await this.db.use(undefined, (m) =>
      m.getRepository(ChainContractEntity).save({
        chainId: this.chain.chainId,
        name,
        address: entry.contractAddress!,
        outboxId: entry.id,
        createdAt: new Date(),
      }),
    );
    this.logger.log({ name, address: entry.contractAddress, chainId: this.chain.chainId }, 'contract deployed');
    return entry.contractAddress;
  }

  recorded(name: string): Promise<ChainContractEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(ChainContractEntity).findOneBy({ chainId: this.chain.chainId, name }));
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

  private async deployerKey(): Promise<string> {
    const existing = await this.keys.findByOwner(DEPLOYER_OWNER, 'service-account');
    if (existing) return existing.id;
    return (await this.keys.createKey('ES256K', 'service-account', DEPLOYER_OWNER)).id;
  }
}
