import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { getAddress, zeroPadValue, type Log } from 'ethers';
import { chainHeadBlock, chainLastPoll } from '../common/index.js';
import { ChainClient } from './chain.client.js';

/** Blocks per eth_getLogs: within what public and consortium nodes answer (Besu's default cap is larger). */
export const MAX_BLOCKS_PER_QUERY = 1_000;

export type IdentityChangedListener = (identity: string, blockNumber: number) => void;
/** Every log of a watched contract, in chain order (consortium events: proposals, permissions). */
export type LogListener = (log: Log) => void;

/**
 * Follows events of the watched contracts by polling eth_getLogs (works on every JSON-RPC node, no
 * filters or websockets needed) and tells listeners which identity (topic 1) changed.
 */
@Injectable()
export class ChainEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('ChainEvents');
  private readonly listeners: IdentityChangedListener[] = [];
  private readonly logListeners: LogListener[] = [];
  private watched: { address: string; topics: string[] }[] = [];
  private fromBlock: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** Polls failed in a row. */
  private failures = 0;

  constructor(
    private readonly chain: ChainClient,
    private readonly pollMs: number,
  ) {}

  watch(address: string, topics: string[]): void {
    // Idempotent: a start-up retried after a chain outage, or a consortium followed again, watches nothing twice.
    const known = this.watched.some(
      (entry) =>
        entry.address === address && entry.topics.length === topics.length && entry.topics.every((t, i) => t === topics[i]),
    );
    if (!known) this.watched.push({ address, topics });
  }

  /** Stops following a contract (a consortium left for another): its events no longer reach the listeners. */
  unwatch(address: string): void {
    this.watched = this.watched.filter((entry) => entry.address !== address);
  }

  onIdentityChanged(listener: IdentityChangedListener): void {
    this.listeners.push(listener);
  }

  onLog(listener: LogListener): void {
    this.logListeners.push(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One poll; exposed so callers (and tests) need not wait for the timer. */
  async poll(): Promise<void> {
    if (this.watched.length === 0) return;
    const latest = await this.chain.blockNumber();
    if (this.fromBlock === undefined || this.fromBlock > latest + 1) this.fromBlock = latest + 1; // start, or chain reset
    // In ranges a node answers (Besu and others refuse wide eth_getLogs ranges): after a long outage the
    // backlog is read range by range, each one done moving the start, instead of a range refused at every poll.
    while (this.fromBlock <= latest) {
      const toBlock = Math.min(latest, this.fromBlock + MAX_BLOCKS_PER_QUERY - 1);
      for (const { address, topics } of this.watched) {
        const logs = await this.chain.provider.getLogs({ address, topics: [topics], fromBlock: this.fromBlock, toBlock });
        for (const log of logs) {
          for (const listener of this.logListeners) listener(log);
          const identityTopic = log.topics[1];
          if (!identityTopic) continue;
          const identity = getAddress('0x' + identityTopic.slice(-40));
          for (const listener of this.listeners) listener(identity, log.blockNumber);
        }
      }
      this.fromBlock = toBlock + 1;
    }
    chainHeadBlock.set(latest);
    chainLastPoll.set(Date.now() / 1000);
  }

  /**
   * A failed poll is retried at the next one; while failures last, what this replica remembers from the chain
   * (resolved keys, authorisations) is not refreshed, so a run of them is worth a warning (the first, then every
   * hundredth), not only a debug line.
   */
  private pollFailed(error: unknown): void {
    this.failures++;
    if (this.failures === 1 || this.failures % 100 === 0)
      this.logger.warn(
        {
          event: 'chain_events_poll_failed',
          failures: this.failures,
          fromBlock: this.fromBlock,
          code: (error as { code?: unknown }).code,
        },
        'reading chain events failed; retrying at the next poll',
      );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll()
        .then(() => (this.failures = 0))
        .catch((error: unknown) => this.pollFailed(error))
        .finally(() => this.schedule(this.pollMs));
    }, delayMs);
  }
}

export const addressTopic = (address: string): string => zeroPadValue(address, 32);
