import { EventLoopLoad } from './event-loop-load.js';

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const idleFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventLoopLoad', () => {
  it('is saturated after a window the loop spent running, and not after one it spent waiting', async () => {
    const load = new EventLoopLoad(1_000_000);
    expect(load.isSaturated()).toBe(false);
    busyFor(50);
    load.sample();
    expect(load.isSaturated()).toBe(true);
    await idleFor(50);
    load.sample();
    expect(load.isSaturated()).toBe(false);
    load.stop();
  });

  it('samples by itself once asked', async () => {
    const load = new EventLoopLoad(5);
    expect(load.isSaturated()).toBe(false);
    busyFor(50);
    // The timer's first run after the busy stretch closes a window that was all running.
    await idleFor(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(load.isSaturated()).toBe(true);
    await idleFor(100);
    expect(load.isSaturated()).toBe(false);
    load.stop();
  });
});
