import { Inject, Injectable } from '@nestjs/common';
import { Database, timeOrderedId, type Tx } from '../persistence/index.js';
import { ChainClient } from './chain.client.js';
import { isSettled, type OutboxEntity, type OutboxStatus } from './outbox.entity.js';
import { OutboxRepository, type OutboxChanges } from './outbox.repository.js';
import { Replica } from './leases.js';

export interface ChainWrite {
  signerKeyId: string;
  /** Null deploys a contract. */
  to: string | null;
  data: string;
  purpose: string;
  ref?: string;
}

export type OutboxEntry = Readonly<OutboxEntity>;

/** How many unsettled entries one worker pass looks at. */
const PASS_SIZE = 500;

let lastSeq = 0;
/** Strictly increasing per process; orders writes even when several share a millisecond. */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

/**
 * The transactional outbox: the only way to write to the chain. Scopes the repository to the connected
 * chain and to this replica's leases.
 */
@Injectable()
export class OutboxService {
  /** Told when writes queued in this process have committed: the worker takes them at once, not at its next poll. */
  private readonly enqueuedListeners: (() => void)[] = [];
  /** waitFinal callers, woken when this process settles their entry (another replica's settling is polled for). */
  private readonly finalWaiters = new Map<string, Set<() => void>>();
  /** Told synchronously when this process settles an entry, before its waiters wake (see `onSettled`). */
  private readonly settledListeners: (() => void)[] = [];

  constructor(
    private readonly repository: OutboxRepository,
    @Inject(ChainClient) private readonly chain: ChainClient,
    private readonly replica: Replica,
    private readonly db: Database,
  ) {}

  onEnqueued(listener: () => void): void {
    this.enqueuedListeners.push(listener);
  }

  /**
   * Told when this process settles an entry (mined or reverted), before anyone waiting for it wakes: a chain
   * read shared among concurrent callers is started afresh from then on, so a caller that waited for its own
   * write never joins a read from before it (ADR 31). Listeners must be quick and must not throw.
   */
  onSettled(listener: () => void): void {
    this.settledListeners.push(listener);
  }

  /** Records writes inside the caller's transaction; the worker sends them once it commits. */
  async enqueue(tx: Tx, writes: ChainWrite[]): Promise<string[]> {
    const now = new Date();
    const entities = writes.map((write): OutboxEntity => ({
      id: timeOrderedId(),
      seq: nextSeq(),
      chainId: this.chain.chainId,
      signerKeyId: write.signerKeyId,
      toAddress: write.to,
      data: write.data,
      purpose: write.purpose,
      ref: write.ref ?? null,
      status: 'pending',
      nonce: null,
      rawTx: null,
      txHash: null,
      blockNumber: null,
      blockTimestamp: null,
      gasUsed: null,
      contractAddress: null,
      attempts: 0,
      lastError: null,
      leaseUntil: null,
      claimedBy: null,
      createdAt: now,
      updatedAt: now,
      minedAt: null,
    }));
    await this.repository.insertAll(tx, entities);
    for (const listener of this.enqueuedListeners) this.db.afterCommit(tx, listener);
    return entities.map((entity) => entity.id);
  }

  get(id: string): Promise<OutboxEntry | null> {
    return this.repository.byId(id);
  }

  /** Several entries by id, in one statement (those that exist, in no particular order). */
  getMany(ids: string[]): Promise<OutboxEntry[]> {
    return this.repository.byIds(ids);
  }

  /** The status of one entry (undefined if there is none), without reading the rest of it. */
  statusOf(id: string): Promise<OutboxEntry['status'] | undefined> {
    return this.repository.statusOf(id);
  }

  byRef(ref: string): Promise<OutboxEntry[]> {
    return this.repository.byRef(ref);
  }

  byPurpose(purpose: string): Promise<OutboxEntry[]> {
    return this.repository.byPurpose(this.chain.chainId, purpose);
  }

  /** Entries still to be mined, oldest first. */
  open(): Promise<OutboxEntry[]> {
    return this.repository.unsettled(this.chain.chainId, PASS_SIZE);
  }

  /** Mined entries in chain order: the journal replayed onto a fresh embedded chain. */
  minedJournal(): Promise<OutboxEntry[]> {
    return this.repository.minedJournal(this.chain.chainId);
  }

  counts(): Promise<Record<OutboxStatus, number>> {
    return this.repository.countByStatus(this.chain.chainId);
  }

  /** Seconds the oldest write not yet mined has waited (0 when none): a chain that is down or stalled shows here. */
  async oldestOpenAgeSeconds(now = new Date()): Promise<number> {
    const oldest = await this.repository.oldestOpenCreatedAt(this.chain.chainId);
    return oldest ? Math.max(0, Math.round((now.getTime() - oldest.getTime()) / 1000)) : 0;
  }

  /**
   * Takes this replica's lease on an open entry: only the holder signs, broadcasts and settles it, so with
   * several replicas exactly one advances an entry at a time. A lease that ran out (crashed replica) may be
   * taken again: nothing is broadcast before the raw transaction is stored, and a stored one is only ever
   * re-sent as the same bytes.
   */
  claim(entry: OutboxEntry, leaseMs: number): Promise<boolean> {
    return this.repository.claimLease(entry.id, this.replica.id, new Date(), leaseMs);
  }

  /** Changes an entry only while this replica holds its lease; false if the lease was lost. */
  async updateHeld(id: string, changes: OutboxChanges): Promise<boolean> {
    const updated = await this.repository.updateWhileHeld(id, this.replica.id, changes);
    if (updated && isSettled(changes.status)) {
      for (const listener of this.settledListeners) listener();
      for (const wake of this.finalWaiters.get(id) ?? []) wake();
    }
    return updated;
  }

  /** Gives the lease back (after a pass, settled or not) so any replica may take the entry next. */
  release(id: string): Promise<void> {
    return this.repository.releaseLease(id, this.replica.id);
  }

  /** The highest nonce we have signed ourselves for a signer (the worker uses the next one), or null. */
  highestNonce(signerKeyId: string): Promise<number | null> {
    return this.repository.highestSignedNonce(this.chain.chainId, signerKeyId);
  }

  /**
   * Waits until the entry is final (mined or reverted); the worker does the work. Woken when this process settles
   * it, which is before the worker's mined-listeners have run: a caller that needs their effects waits for those.
   */
  async waitFinal(id: string, timeoutMs: number, pollMs = 100): Promise<OutboxEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Listening before reading: a settlement between the read and the wait still wakes this caller.
      const settled = this.settledHereOrAfter(id, pollMs);
      let waiting = false;
      try {
        const entry = await this.get(id);
        if (!entry) throw new Error(`Unknown outbox entry ${id}`);
        if (isSettled(entry.status)) return entry;
        if (Date.now() > deadline) throw new Error(`Outbox entry ${id} still ${entry.status}: ${entry.lastError ?? ''}`);
        waiting = true;
      } finally {
        if (!waiting) settled.cancel();
      }
      await settled.done;
    }
  }

  /** Resolves `done` when this process settles the entry, or after `ms` at the latest; `cancel` stops listening. */
  private settledHereOrAfter(id: string, ms: number): { done: Promise<void>; cancel(): void } {
    const waiters = this.finalWaiters.get(id) ?? new Set<() => void>();
    this.finalWaiters.set(id, waiters);
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.finalWaiters.get(id) === waiters) this.finalWaiters.delete(id);
        resolve();
      };
    });
    const timer = setTimeout(wake, ms);
    waiters.add(wake);
    return { done, cancel: wake };
  }
}
