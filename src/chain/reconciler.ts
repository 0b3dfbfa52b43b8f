import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { JobLeases } from './leases.js';
import { BackgroundJob } from '../common/index.js';

/** One idempotent repair: finishes what a crash or a lost race left half-done, from the chain's truth. */
export interface ReconcileStep {
  name: string;
  run(): Promise<void>;
}

const LEASE_NAME = 'reconciler';
/**
 * How long the lease outlives the period: the holder renews it at the start and end of every round, and a replica killed while
 * holding it keeps the others from repairing anything until it runs out (an agency whose activation it was
 * settling stays `anchoring` meanwhile). Three periods for short ones (tests), at most 15 s beyond one period.
 */
export const reconcileLeaseMs = (intervalMs: number) => Math.min(intervalMs * 3, intervalMs + 15_000);

/**
 * Runs the registered reconcile steps periodically, on one replica at a time (a database lease).
 * Modules add their steps at bootstrap (agency activation, authorisations, status anchors); a step that
 * fails is logged and tried again next round, the others still run.
 */
@Injectable()
export class Reconciler implements OnApplicationShutdown {
  private readonly logger = new Logger('Reconciler');
  private readonly job = new BackgroundJob(this.logger, 'reconcile round');
  private readonly steps: ReconcileStep[] = [];
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<boolean> | undefined;
  private stopped = true;
  private intervalMs = 30_000;
  private holding = false;
  /** Stopping (shutdown): a round in progress ends after its current step; a start resumes. */
  private closing = false;

  constructor(private readonly leases: JobLeases) {}

  register(step: ReconcileStep): void {
    this.steps.push(step);
  }

  start(intervalMs: number): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.closing = false;
    this.intervalMs = intervalMs;
    this.schedule(intervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.closing = true;
    clearTimeout(this.timer);
    await this.current;
    await this.leases.release(LEASE_NAME).catch(() => undefined);
  }

  /**
   * While the chain's state is being rebuilt (the embedded node restarted and its journal replayed), a read
   * sees part of it: an authorisation not replayed yet reads as withdrawn. Steps wait until `release`.
   */
  hold(): void {
    this.holding = true;
  }

  /** Ends a `hold` and runs a round at once: what changed meanwhile is settled now, not at the next period. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    if (!this.stopped) void this.job.run(() => this.runOnce());
  }

  /** Whether steps wait for the chain's state to be rebuilt (see `hold`). */
  get held(): boolean {
    return this.holding;
  }

  /**
   * One round if this replica holds (or takes) the lease; false when another replica holds it, or while
   * the reconciler is held.
   */
  runOnce(): Promise<boolean> {
    const round = (this.current ?? Promise.resolve(true)).then(() => this.round());
    this.current = round.catch(() => false);
    return round;
  }

  private async round(): Promise<boolean> {
    if (this.holding) return false;
    // The lease outlives a period by a margin so the holder keeps it while it is alive; rounds are idempotent,
    // so one that outlasts the lease and overlaps another replica's does no harm.
    if (!(await this.leases.acquire(LEASE_NAME, reconcileLeaseMs(this.intervalMs)))) return false;
    for (const step of this.steps) {
      // Held during the round (the node died meanwhile): the remaining steps would read a partial chain.
      if (this.holding || this.closing) return false;
      try {
        await step.run();
      } catch (error) {
        this.logger.warn({ err: error, step: step.name }, 'reconcile step failed; will retry');
      }
    }
    // Renewed at the end too: the next round starts a period after this one ends, so a long round (slow chain
    // reads) would otherwise let the lease lapse before it.
    await this.leases.acquire(LEASE_NAME, reconcileLeaseMs(this.intervalMs)).catch(() => false);
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.job.run(() => this.runOnce()).finally(() => this.schedule(this.intervalMs));
    }, delayMs);
  }
}
