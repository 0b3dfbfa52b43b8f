import { reconcileLeaseMs, Reconciler } from './reconciler.js';
import type { JobLeases } from './leases.js';

/** A lease this replica always gets: the reconciler's own rules are what is tested here. */
const ownLease = { acquire: async () => true, release: async () => undefined } as unknown as JobLeases;

describe('Reconciler', () => {
  it('runs no step while held, and a round at once when released', async () => {
    const reconciler = new Reconciler(ownLease);
    const ran: string[] = [];
    reconciler.register({ name: 'authorisations', run: async () => void ran.push('authorisations') });
    // A long period: only runOnce and release start rounds in this test.
    reconciler.start(3_600_000);
    try {
      expect(await reconciler.runOnce()).toBe(true);
      expect(ran).toEqual(['authorisations']);

      reconciler.hold();
      expect(reconciler.held).toBe(true);
      expect(await reconciler.runOnce()).toBe(false);
      expect(ran).toEqual(['authorisations']);

      reconciler.release();
      expect(reconciler.held).toBe(false);
      // The round release started: the next runOnce queues behind it, so both have run when it returns.
      await reconciler.runOnce();
      expect(ran).toEqual(['authorisations', 'authorisations', 'authorisations']);
    } finally {
      await reconciler.onApplicationShutdown();
    }
  });

  it('stops a round between steps when held during it', async () => {
    const reconciler = new Reconciler(ownLease);
    const ran: string[] = [];
    reconciler.register({
      name: 'first',
      run: async () => {
        ran.push('first');
        reconciler.hold(); // the node dies while this step runs
      },
    });
    reconciler.register({ name: 'second', run: async () => void ran.push('second') });
    expect(await reconciler.runOnce()).toBe(false);
    expect(ran).toEqual(['first']);
    await reconciler.onApplicationShutdown();
  });

  it('holds its lease one period and at most 15 s more, so a killed holder stops repairs for 45 s at the default period, not 90', async () => {
    const asked: number[] = [];
    const leases = { acquire: async (_name: string, ms: number) => (asked.push(ms), true), release: async () => undefined };
    const reconciler = new Reconciler(leases as unknown as JobLeases);
    reconciler.start(30_000);
    try {
      expect(await reconciler.runOnce()).toBe(true);
      // Taken at the start of the round and renewed at its end (the next round starts a period after it ends).
      expect(asked).toEqual([45_000, 45_000]);
    } finally {
      await reconciler.onApplicationShutdown();
    }
    expect(reconcileLeaseMs(200)).toBe(600);
    expect(reconcileLeaseMs(5_000)).toBe(15_000);
  });
});
