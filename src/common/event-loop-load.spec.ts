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

  it('samples by itself while asked, and stops at the first window that was not saturated', async () => {
    const load = new EventLoopLoad(20);
    expect(load.isSaturated()).toBe(false);
    expect(load.sampling).toBe(true);
    busyFor(100);
    // The timer (due during the busy stretch) runs before this later timeout and closes a window that was all running.
    await idleFor(0);
    expect(load.isSaturated()).toBe(true);
    await idleFor(200);
    expect(load.sampling).toBe(false);
    expect(load.isSaturated()).toBe(false);
    // Asked again, it samples again.
    expect(load.sampling).toBe(true);
    load.stop();
  });
});
