import { LRUCache } from 'lru-cache';
import { isSettled } from './outbox.entity.js';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Signature, Transaction, getBytes, isError, keccak256, type TransactionReceipt } from 'ethers';
import { KeyService } from '../keys/index.js';
import { ChainClient, ChainUnavailableError } from './chain.client.js';
import { OutboxService, type OutboxEntry } from './outbox.service.js';
import { BackgroundJob } from '../common/index.js';
import { contractErrorName, revertData } from './revert-data.js';

export type MinedListener = (entry: OutboxEntry) => Promise<void>;

export interface OutboxWorkerOptions {
  pollMs: number;
  priorityFeeWei: bigint;
}

const LEASE_MS = 30_000;
const RECEIPT_WAIT_MS = 5_000;
/** How long a write's gas estimate must keep reverting before it is dropped as one that can never succeed. */
const WOULD_REVERT_CONFIRM_MS = 5_000;
/** How long a write whose nonce is reported taken is looked for before it is signed again with another nonce. */
const NONCE_TAKEN_CONFIRM_MS = 3_000;

/**
 * Sends outbox entries in order per signer: claim, sign once (stored before broadcast), broadcast,
 * wait for the receipt. A node that is down only delays the queue; the same bytes are sent again later.
 */
@Injectable()
export class OutboxWorker implements OnApplicationShutdown {
  private readonly logger = new Logger('OutboxWorker');
  private readonly job = new BackgroundJob(this.logger, 'outbox pass');
  private readonly listeners: MinedListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  /** A pass is running; a nudge meanwhile asks for another right after it (`passAgain`). */
  private passing = false;
  private passAgain = false;
  /**
   * The last scheduled pass could not reach the chain node: commits then leave the next pass to the poll, so a
   * stream of writes during an outage does not turn into back-to-back passes that each fail.
   */
  private chainUnreachable = false;
  private unreachableInPass = false;
  private stopped = true;
  private closed = false;
  /**
   * The last delay reported per entry. Bounded: an entry another replica settles, or one found settled, is
   * never deleted here, and an outage can delay thousands.
   */
  /** Entries this process is advancing now: a pass started meanwhile (drain() called directly) leaves them be. */
  private readonly advancing = new Set<string>();
  private readonly lastDelay = new LRUCache<string, string>({ max: 1_000 });
  /** When this replica first saw each write's gas estimate revert (see sign). */
  private readonly wouldRevertSince = new LRUCache<string, { since: number; last: number }>({ max: 1_000 });

  constructor(
    private readonly outbox: OutboxService,
    private readonly chain: ChainClient,
    private readonly keys: KeyService,
    private readonly options: OutboxWorkerOptions,
  ) {
    outbox.onEnqueued(() => this.nudge());
  }

  onMined(listener: MinedListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (!this.stopped || this.closed) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  /** One pass over the open entries. Exposed so start-up and tests can drive the queue directly. */
  async drain(): Promise<void> {
    const bySigner = new Map<string, OutboxEntry[]>();
    for (const entry of await this.outbox.open()) {
      const queue = bySigner.get(entry.signerKeyId) ?? [];
      queue.push(entry);
      bySigner.set(entry.signerKeyId, queue);
    }
    // Every signer's drain is awaited even when one fails: a pass that ended early would let the next pass start
    // while an entry is still being signed or broadcast here, and sign it a second time with another nonce.
    const drained = await Promise.allSettled([...bySigner.values()].map((queue) => this.drainSigner(queue)));
    const failed = drained.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * A write was committed in this process: a pass now rather than at the next poll (up to OUTBOX_POLL_MS
   * later). Nudges during a pass coalesce into one more pass after it; the poll still finds other replicas' writes.
   */
  nudge(): void {
    if (this.stopped || this.chainUnreachable) return;
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.passing = true;
      this.unreachableInPass = false;
      this.current = this.job
        .run(() => this.drain())
        .finally(() => {
          this.passing = false;
          this.chainUnreachable = this.unreachableInPass;
          const again = this.passAgain;
          this.passAgain = false;
          this.schedule(again ? 0 : this.options.pollMs);
        });
    }, delayMs);
  }

  private async drainSigner(queue: OutboxEntry[]): Promise<void> {
    for (const entry of queue) {
      // Shutting down: the pass stops between entries (each may wait seconds for its receipt), so the stop is
      // not held past the orchestrator's grace; the next start, or another replica, goes on from here.
      if (this.closed) return;
      // Strict order per signer: a later write is not signed before the earlier one is mined.
      if (!(await this.advance(entry))) return;
    }
  }

  /** Warns once per entry and reason, so a node that is down for an hour does not flood the log. */
  private reportDelay(outboxId: string, error: unknown): void {
    if (error instanceof ChainUnavailableError) this.unreachableInPass = true;
    const reason = describe(error);
    if (this.lastDelay.get(outboxId) === reason) return;
    this.lastDelay.set(outboxId, reason);
    this.logger.warn({ outboxId, reason }, 'chain write delayed; will retry');
  }

  /**
   * Advances one entry while holding its lease. The entry is read again after the claim: another
   * replica may have signed it since the listing, and its stored bytes must be reused, never re-signed.
   */
  private async advance(listed: OutboxEntry): Promise<boolean> {
    if (this.advancing.has(listed.id)) return false;
    this.advancing.add(listed.id);
    try {
      return await this.advanceClaimed(listed);
    } finally {
      this.advancing.delete(listed.id);
    }
  }

  private async advanceClaimed(listed: OutboxEntry): Promise<boolean> {
    let claimed: boolean;
    try {
      claimed = await this.outbox.claim(listed, LEASE_MS);
    } catch (error) {
      // The database refused the claim (away, read-only, full): this signer's queue waits for the next pass (a claim
      // this replica holds is renewed then), and the pass fails once the other signers' drains have ended, so the
      // job reports it rather than a pass that did nothing.
      this.reportDelay(listed.id, error);
      throw error;
    }
    if (!claimed) return false;
    try {
      let current = await this.outbox.get(listed.id);
      if (!current || isSettled(current.status)) return true;
      if (current.status !== 'signed') {
        let signed: OutboxEntry | undefined;
        try {
          signed = await this.sign(current);
        } catch (error) {
          // Nothing was stored or sent: hand the entry back at once rather than waiting out the lease.
          await this.outbox.updateHeld(current.id, { status: 'pending', lastError: describe(error) });
          this.reportDelay(current.id, error);
          return false;
        }
        if (!signed) return true;
        current = signed;
      }
      const receipt = await this.broadcast(current);
      if (!receipt) return false;
      const status = receipt.status === 1 ? 'mined' : 'reverted';
      const block = await this.chain.provider.getBlock(receipt.blockNumber);
      const settled = await this.outbox.updateHeld(current.id, {
        status,
        blockNumber: receipt.blockNumber,
        blockTimestamp: block?.timestamp ?? null,
        gasUsed: Number(receipt.gasUsed),
        contractAddress: receipt.contractAddress ?? null,
        minedAt: new Date(),
        lastError: status === 'reverted' ? 'transaction reverted' : null,
      });
      this.lastDelay.delete(current.id);
      // Lost the lease meanwhile: the replica that holds it settles the entry and tells the listeners.
      if (!settled) return false;
      await this.notifyMined((await this.outbox.get(current.id))!);
      return true;
    } catch (error) {
      await this.outbox.updateHeld(listed.id, { lastError: describe(error) }).catch(() => undefined);
      this.reportDelay(listed.id, error);
      return false;
    } finally {
      await this.outbox.release(listed.id).catch(() => undefined);
    }
  }

  /**
   * Tells the mined-listeners about a settled entry. Called once, by the replica that settled it;
   * listeners must still be idempotent (a crash between settling and notifying is healed by the reconciler).
   */
  async notifyMined(entry: OutboxEntry): Promise<void> {
    for (const listener of this.listeners) {
      await listener(entry).catch((error: unknown) =>
        this.logger.warn({ err: error, outboxId: entry.id }, 'mined listener failed'),
      );
    }
  }

  /** Signs with the next nonce and stores the raw transaction. Returns undefined if the write can never succeed. */
  private async sign(entry: OutboxEntry): Promise<OutboxEntry | undefined> {
    const key = await this.keys.getKey(entry.signerKeyId);
    const from = key.address!;
    const provider = this.chain.provider;
    const [chainNonce, ourHighest, block] = await Promise.all([
      provider.getTransactionCount(from, 'pending'),
      this.outbox.highestNonce(entry.signerKeyId),
      provider.getBlock('latest'),
      this.assertContractThere(entry),
    ]);
    const nonce = Math.max(chainNonce, ourHighest === null ? 0 : ourHighest + 1);
    let gasEstimate: bigint;
    try {
      gasEstimate = await provider.estimateGas({ from, to: entry.toAddress, data: entry.data });
    } catch (error) {
      if (isError(error, 'CALL_EXCEPTION')) {
        // The contract's error by name first (an operator reads it in /operator/outbox); the raw data after it.
        const name = contractErrorName(revertData(error));
        // One answer is not enough to drop a write for good: a node behind the others (a balanced RPC endpoint, a
        // validator catching up) may not have mined what this write builds on yet. It must keep saying so.
        // The window counts only answers in a row: a gap (the node down, another replica's pass) starts it again.
        const now = Date.now();
        const seen = this.wouldRevertSince.get(entry.id);
        const since = seen && now - seen.last <= WOULD_REVERT_CONFIRM_MS ? seen.since : now;
        this.wouldRevertSince.set(entry.id, { since, last: now });
        if (now - since < WOULD_REVERT_CONFIRM_MS)
          throw new Error(`would revert${name === 'reverted' ? '' : ` with ${name}`}; asking the node again before dropping it`);
        this.wouldRevertSince.delete(entry.id);
        await this.outbox.updateHeld(entry.id, {
          status: 'reverted',
          lastError: `would revert${name === 'reverted' ? '' : ` with ${name}`}: ${describe(error)}`,
        });
        this.logger.error({ outboxId: entry.id, purpose: entry.purpose, error: name }, 'chain write would revert; dropped');
        return undefined;
      }
      throw error;
    }
    this.wouldRevertSince.delete(entry.id);
    const baseFee = block?.baseFeePerGas ?? 0n;
    const tx = Transaction.from({
      type: 2,
      chainId: this.chain.chainId,
      nonce,
      to: entry.toAddress,
      data: entry.data,
      value: 0n,
      gasLimit: (gasEstimate * 12n) / 10n + 10_000n,
      maxPriorityFeePerGas: this.options.priorityFeeWei,
      maxFeePerGas: baseFee * 2n + this.options.priorityFeeWei,
    });
    tx.signature = Signature.from(await this.keys.signDigest(entry.signerKeyId, getBytes(tx.unsignedHash)));
    // Serialised once: each of ethers' getters serialises the transaction again, contract code included.
    const rawTx = tx.serialized;
    const changes = { status: 'signed' as const, nonce, rawTx, txHash: keccak256(rawTx) };
    // Stored before it is broadcast, and only while we hold the lease: one entry, one signed transaction.
    if (!(await this.outbox.updateHeld(entry.id, changes))) throw new Error('lease lost before the transaction was stored');
    return { ...entry, ...changes };
  }

  /**
   * A call to an address without code succeeds and is mined, so a node that came back empty (a reset chain) would
   * take our writes as done while our contracts are not there: they wait (pending, or signed) until they are.
   */
  private async assertContractThere(entry: OutboxEntry): Promise<void> {
    if (entry.toAddress && (await this.chain.provider.getCode(entry.toAddress)) === '0x') {
      throw new Error(`no contract at ${entry.toAddress} on this chain (was the chain reset?)`);
    }
  }

  private async broadcast(entry: OutboxEntry): Promise<TransactionReceipt | null> {
    const provider = this.chain.provider;
    const known = await provider.getTransactionReceipt(entry.txHash!);
    if (known) return known;
    // Signed before the node came back empty: the stored bytes would be mined there as a call to nothing.
    await this.assertContractThere(entry);
    try {
      await this.chain.sendRawTransaction(entry.rawTx!);
    } catch (error) {
      if (isError(error, 'NONCE_EXPIRED')) {
        // Ours may be the transaction that took the nonce, on a node the receipt query did not reach yet (a
        // balanced endpoint): look for it a while before concluding another one took it.
        const receipt = await this.chain.waitForReceipt(entry.txHash!, NONCE_TAKEN_CONFIRM_MS);
        if (receipt) return receipt;
        // Another transaction took this nonce, so ours can never be mined: sign the write again.
        await this.outbox.updateHeld(entry.id, {
          status: 'pending',
          nonce: null,
          rawTx: null,
          txHash: null,
          lastError: 'nonce taken; re-signing',
        });
        return null;
      }
      if (!/already known|known transaction|already imported/i.test(describe(error))) throw error;
    }
    return this.chain.waitForReceipt(entry.txHash!, RECEIPT_WAIT_MS);
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? message.slice(0, 500) + '…' : message;
}
