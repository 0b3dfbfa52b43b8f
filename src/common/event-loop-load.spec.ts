import { jest } from '@jest/globals';
import { EventLoopLoad, type LoopTimes } from './event-loop-load.js';

/** Loop times the test moves by hand: a window's share of active time is what the test says it is. */
function scriptedLoop() {
  const times: LoopTimes = { idle: 0, active: 0 };
  return {
    read: () => ({ ...times }),
    run: (ms: number) => void (times.active += ms),
    wait: (ms: number) => void (times.idle += ms),
  };
}

describe('EventLoopLoad', () => {
  afterEach(() => jest.useRealTimers());

  it('is saturated after a window at or above the threshold, and not after one below it', () => {
    const loop = scriptedLoop();
    const load = new EventLoopLoad(1_000_000, 0.95, loop.read);
    expect(load.isSaturated()).toBe(false);
    loop.run(95);
    loop.wait(5);
    load.sample();
    expect(load.isSaturated()).toBe(true);
    loop.run(94);
    loop.wait(6);
    load.sample();
    expect(load.isSaturated()).toBe(false);
    // An empty window (no time passed) is not saturated.
    expect(load.isSaturated()).toBe(false);
    load.sample();
    expect(load.isSaturated()).toBe(false);
    load.stop();
  });

  it('with a release threshold, stays saturated until a window falls below it (hysteresis)', () => {
    const loop = scriptedLoop();
    const load = new EventLoopLoad(1_000_000, 0.95, loop.read, 0.75);
    const window = (activeShare: number) => {
      loop.run(activeShare);
      loop.wait(100 - activeShare);
      load.sample();
      return load.isSaturated();
    };
    expect(load.isSaturated()).toBe(false);
    // Below the threshold but above the release: not saturated until it was.
    expect(window(90)).toBe(false);
    expect(window(96)).toBe(true);
    // The work handed over leaves the loop less busy: it stays saturated while at or above the release.
    expect(window(80)).toBe(true);
    expect(window(75)).toBe(true);
    expect(window(74)).toBe(false);
    expect(window(90)).toBe(false);
    load.stop();
  });

  it('samples by itself while asked, and stops at the first window that was not saturated', () => {
    jest.useFakeTimers();
    const loop = scriptedLoop();
    const load = new EventLoopLoad(20, 0.95, loop.read);
    expect(load.isSaturated()).toBe(false);
    expect(load.sampling).toBe(true);
    loop.run(20);
    jest.advanceTimersByTime(20);
    expect(load.isSaturated()).toBe(true);
    expect(load.sampling).toBe(true);
    loop.run(20);
    jest.advanceTimersByTime(20);
    expect(load.isSaturated()).toBe(true);
    loop.run(10);
    loop.wait(10);
    jest.advanceTimersByTime(20);
    expect(load.sampling).toBe(false);
    expect(load.isSaturated()).toBe(false);
    // Asked again, it samples again.
    expect(load.sampling).toBe(true);
    load.stop();
  });

  it("reads this process's own loop: a window spent running is saturated, a long one spent waiting is not", async () => {
    const load = new EventLoopLoad(1_000_000);
    expect(load.isSaturated()).toBe(false);
    const until = performance.now() + 50;
    while (performance.now() < until);
    load.sample();
    expect(load.isSaturated()).toBe(true);
    // Long, so that a collection or a descheduled worker on a busy CI host cannot fill 95 % of it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    load.sample();
    expect(load.isSaturated()).toBe(false);
    load.stop();
  });
});
