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
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(1);

    jest.advanceTimersByTime(POLL_MS - 1);
    await settle();
    expect(passes).toBe(1);
    committed();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(2);

    // Back to polling: the next pass comes a whole period after the nudged one.
    jest.advanceTimersByTime(POLL_MS - 1);
    await settle();
    expect(passes).toBe(2);
    jest.advanceTimersByTime(1);
    await settle();
    expect(passes).toBe(3);
  });

  it('folds the commits made during a pass into one more pass right after it', async () => {
    worker.start();
    holdPasses = true;
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(1);
    committed();
    committed();
    committed();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(1); // one pass at a time

    holdPasses = false;
    release!();
    await settle();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(2);
    jest.advanceTimersByTime(POLL_MS - 1);
    await settle();
    expect(passes).toBe(2);
  });

  it('leaves commits to the poll while its last pass could not reach the chain node, and takes them at once again after', async () => {
    chainDown = true;
    worker.start();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(1);
    committed();
    committed();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(1); // no pass per commit against a node that is down

    chainDown = false;
    jest.advanceTimersByTime(POLL_MS);
    await settle();
    expect(passes).toBe(2);
    committed();
    jest.advanceTimersByTime(0);
    await settle();
    expect(passes).toBe(3);
  });

  it('makes no further pass once stopped, though commits during its last pass asked for one', async () => {
    worker.start();
    holdPasses = true;
    jest.advanceTimersByTime(0);
    await settle();
    committed();
    const stopped = worker.stop();
    holdPasses = false;
    release!();
    await stopped;
    jest.advanceTimersByTime(POLL_MS * 2);
    await settle();
    expect(passes).toBe(1);
  });

  it('makes no pass for a commit while it is stopped', async () => {
    committed();
    jest.advanceTimersByTime(POLL_MS);
    await settle();
    expect(passes).toBe(0);

    worker.start();
    jest.advanceTimersByTime(0);
    await settle();
    await worker.stop();
    committed();
    jest.advanceTimersByTime(POLL_MS);
    await settle();
    expect(passes).toBe(1);
  });
});
