import { untilReachable, worthLogging } from './until-reachable.js';

describe('untilReachable', () => {
  it('waits through outages with growing delays and returns the first success', async () => {
    const delays: number[] = [];
    const waited: number[] = [];
    let calls = 0;
    const down = Object.assign(new Error('down'), { outage: true });
    const value = await untilReachable(
      async () => {
        calls += 1;
        if (calls < 6) throw down;
        return 'up';
      },
      {
        isOutage: (error) => (error as { outage?: boolean }).outage === true,
        onWait: (_error, attempt) => waited.push(attempt),
        sleep: async (ms) => void delays.push(ms),
        firstDelayMs: 500,
        maxDelayMs: 5_000,
      },
    );
    expect(value).toBe('up');
    expect(waited).toEqual([1, 2, 3, 4, 5]);
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 5_000]);
  });

  it('rethrows what is not an outage at once', async () => {
    const broken = new Error('a bad configuration');
    await expect(
      untilReachable(
        async () => {
          throw broken;
        },
        { isOutage: () => false, onWait: () => undefined, sleep: async () => undefined },
      ),
    ).rejects.toBe(broken);
  });

  it('logs the first wait, then about once a minute', () => {
    expect([1, 2, 11, 12, 13, 24].map(worthLogging)).toEqual([true, false, false, true, false, true]);
  });
});
