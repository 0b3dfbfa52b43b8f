import { performance } from 'node:perf_hooks';

/** Cumulative milliseconds the loop spent waiting for I/O (idle) and outside that wait (active). */
export interface LoopTimes {
  idle: number;
  active: number;
}

const processLoopTimes = (): LoopTimes => performance.eventLoopUtilization();

/**
 * Whether this process's event loop was busy for nearly all of the last window (ADR 28). While it is,
 * CPU work handed to libuv's threadpool lets the loop serve requests that wait for it; while it is not,
 * handing work over only adds a thread hop (and a wait for a core) to the request's latency.
 * An unref'd timer samples the loop's utilisation while someone asks: it starts on a question and stops
 * at the first window that was not saturated, so an idle process (or a finished test file) keeps no timer.
 */
export class EventLoopLoad {
  private saturated = false;
  private last: LoopTimes | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs = 50,
    /**
     * Share of the window the loop spent outside its I/O wait. High, so that a burst at moderate load keeps its
     * checks inline: handed over, a check may also wait for a core (measured: served p99 at half rate
     * 4.0–6.4 ms with 0.85 over 20 ms, 1.2–5.2 ms with 0.95 over 50 ms; the same peak rates).
     */
    private readonly threshold = 0.95,
    /** The loop's times so far; tests give their own, so that a busy test host cannot decide the outcome. */
    private readonly loopTimes: () => LoopTimes = processLoopTimes,
    /**
     * Once saturated, the share below which it no longer is (hysteresis). Work handed over because the loop
     * was saturated makes the loop less busy; without it the answer flips from one window to the next.
     */
    private readonly releaseThreshold = threshold,
  ) {}

  isSaturated(): boolean {
    if (!this.timer) {
      this.last = this.loopTimes();
      this.timer = setInterval(() => this.sample(), this.windowMs).unref();
    }
    return this.saturated;
  }

  /** Whether the sampling timer runs (it stops when a window was not saturated). */
  get sampling(): boolean {
    return this.timer !== undefined;
  }

  /** Ends the window begun by the previous sample (the timer calls it; tests may too). */
  sample(): void {
    const now = this.loopTimes();
    if (this.last) {
      const active = now.active - this.last.active;
      const total = active + now.idle - this.last.idle;
      const share = total > 0 ? active / total : 0;
      this.saturated = share >= (this.saturated ? this.releaseThreshold : this.threshold);
    }
    this.last = now;
    if (!this.saturated) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // Asked again later, it starts from an unsaturated window (and the entry threshold), not a stale answer.
    this.saturated = false;
  }
}

/** The process's one sampler. */
export const eventLoopLoad = new EventLoopLoad();
