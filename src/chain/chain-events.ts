import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { getAddress, zeroPadValue, type Log } from 'ethers';
import { ChainClient } from './chain.client.js';

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
    if (this.fromBlock > latest) return;
    for (const { address, topics } of this.watched) {
      const logs = await this.chain.provider.getLogs({ address, topics: [topics], fromBlock: this.fromBlock, toBlock: latest });
      for (const log of logs) {
        for (const listener of this.logListeners) listener(log);
        const identityTopic = log.topics[1];
        if (!identityTopic) continue;
        const identity = getAddress('0x' + identityTopic.slice(-40));
        for (const listener of this.listeners) listener(identity, log.blockNumber);
      }
    }
    this.fromBlock = latest + 1;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll()
        .catch((error: unknown) => this.logger.debug({ err: error }, 'event poll failed'))
        .finally(() => this.schedule(this.pollMs));
    }, delayMs);
  }
}

export const addressTopic = (address: string): string => zeroPadValue(address, 32);
