import { jest } from '@jest/globals';
import type { KeyService } from '../keys/index.js';
import { ChainUnavailableError, type ChainClient } from './chain.client.js';
import type { OutboxEntry, OutboxService } from './outbox.service.js';
import { OutboxWorker } from './outbox.worker.js';

/**
 * When the worker makes its passes. Its outbox lists nothing (a pass is one `open()` call), and setTimeout is
 * jest's fake: advancing the clock by 0 ms runs only what was scheduled at once, never the poll a minute away.
 */
describe('OutboxWorker passes', () => {
  const POLL_MS = 60_000;
  let release: (() => void) | undefined;
  let holdPasses = false;
  let committed: () => void;
  let worker: OutboxWorker;
  let passes: number;

  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  /** The passes made so far, once the clock has moved on by `ms` and what that ran has settled. */
  const passesAfter = async (ms: number) => {
    jest.advanceTimersByTime(ms);
    await settle();
    return passes;
  };

  /** While set, each pass finds one write and cannot reach the chain node to sign it. */
  let chainDown = false;
  const pending = { id: 'entry-1', signerKeyId: 'signer', status: 'pending', toAddress: null, data: '0x00' } as OutboxEntry;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    passes = 0;
    holdPasses = false;
    chainDown = false;
    const outbox = {
      onEnqueued: (listener: () => void) => (committed = listener),
      open: async (): Promise<OutboxEntry[]> => {
        passes++;
        if (holdPasses) await new Promise<void>((resolve) => (release = resolve));
        return chainDown ? [pending] : [];
      },
      claim: async () => true,
      get: async () => pending,
      highestNonce: async () => null,
      updateHeld: async () => true,
      release: async () => undefined,
    };
    const unreachable = () => Promise.reject(new ChainUnavailableError('econnrefused'));
    const chain = { chainId: 1, provider: { getTransactionCount: unreachable, getBlock: unreachable } };
    const keys = { getKey: async () => ({ address: '0x0000000000000000000000000000000000000001' }) };
    worker = new OutboxWorker(
      outbox as unknown as OutboxService,
      chain as unknown as ChainClient,
      keys as unknown as KeyService,
      {
        pollMs: POLL_MS,
        priorityFeeWei: 0n,
      },
    );
  });
  afterEach(async () => {
    holdPasses = false;
    release?.();
    await worker.stop();
    jest.useRealTimers();
  });

  it('passes at once when a write in this process commits, instead of at the next poll', async () => {
    worker.start();
    expect(await passesAfter(0)).toBe(1);

    expect(await passesAfter(POLL_MS - 1)).toBe(1);
    committed();
    expect(await passesAfter(0)).toBe(2);

    // Back to polling: the next pass comes a whole period after the nudged one.
    expect(await passesAfter(POLL_MS - 1)).toBe(2);
    expect(await passesAfter(1)).toBe(3);
  });

  it('folds the commits made during a pass into one more pass right after it', async () => {
    worker.start();
    holdPasses = true;
    expect(await passesAfter(0)).toBe(1);
    committed();
    committed();
    committed();
    expect(await passesAfter(0)).toBe(1); // one pass at a time

    holdPasses = false;
    release!();
    await settle();
    expect(await passesAfter(0)).toBe(2);
    expect(await passesAfter(POLL_MS - 1)).toBe(2);
  });

  it('leaves commits to the poll while its last pass could not reach the chain node, and takes them at once again after', async () => {
    chainDown = true;
    worker.start();
    expect(await passesAfter(0)).toBe(1);
    committed();
    committed();
    expect(await passesAfter(0)).toBe(1); // no pass per commit against a node that is down

    chainDown = false;
    expect(await passesAfter(POLL_MS)).toBe(2);
    committed();
    expect(await passesAfter(0)).toBe(3);
  });

  it('makes no further pass once stopped, though commits during its last pass asked for one', async () => {
    worker.start();
    holdPasses = true;
    expect(await passesAfter(0)).toBe(1);
    committed();
    const stopped = worker.stop();
    holdPasses = false;
    release!();
    await stopped;
    expect(await passesAfter(POLL_MS * 2)).toBe(1);
  });

  it('makes no pass for a commit while it is stopped', async () => {
    committed();
    expect(await passesAfter(POLL_MS)).toBe(0);

    worker.start();
    expect(await passesAfter(0)).toBe(1);
    await worker.stop();
    committed();
    expect(await passesAfter(POLL_MS)).toBe(1);
  });
});

describe('OutboxWorker pass that fails for one signer', () => {
  it("waits for the other signers' entries before it ends, and a pass meanwhile leaves them be", async () => {
    const entry = (id: string, signerKeyId: string) =>
      ({ id, signerKeyId, status: 'pending', toAddress: null, data: '0x00' }) as OutboxEntry;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const reads: string[] = [];
    const outbox = {
      onEnqueued: () => undefined,
      open: async () => [entry('x', 'signer-a'), entry('y', 'signer-b')],
      // The database drops the connection for signer A's claim (PostgreSQL restarting).
      claim: async (listed: OutboxEntry) => {
        if (listed.id === 'x') throw new Error('terminating connection due to administrator command');
        return true;
      },
      // Signer B's entry is being advanced (here: its re-read) while A's claim fails; then it turns out settled.
      get: async (id: string) => {
        reads.push(id);
        await gate;
        return { ...entry(id, 'signer-b'), status: 'mined' };
      },
      updateHeld: async () => true,
      release: async () => undefined,
    };
    const worker = new OutboxWorker(outbox as unknown as OutboxService, {} as ChainClient, {} as KeyService, {
      pollMs: 60_000,
      priorityFeeWei: 0n,
    });
    let ended = false;
    const first = worker.drain().finally(() => (ended = true));
    first.catch(() => undefined);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toEqual(['y']);
    expect(ended).toBe(false);
    // A second pass while the first still advances B's entry (the old pass had ended at A's failure, and the
    // next one signed B's entry again): it does not touch it.
    const second = worker.drain();
    second.catch(() => undefined);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toEqual(['y']);
    openGate();
    // The pass fails with A's claim, but only now that B's entry is done; the second pass likewise.
    await expect(first).rejects.toThrow('terminating connection');
    await expect(second).rejects.toThrow('terminating connection');
    expect(reads).toEqual(['y']);
  });
});
