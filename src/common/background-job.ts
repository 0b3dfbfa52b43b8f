import { isDatabaseConnectivityError } from './database-outage.js';
import { backgroundJobLastSuccess, backgroundJobRounds } from './metrics.js';

interface JobLogger {
  warn(message: unknown, ...rest: unknown[]): void;
  log(message: unknown, ...rest: unknown[]): void;
}

/** True for a chain node that cannot be reached (src/chain's ChainUnavailableError and plain socket errors). */
export const isChainUnreachable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'CHAIN_UNAVAILABLE';

/**
 * One round's work over many items (lists, authorisations, applications): an item that fails is reported and the
 * others still get their turn, then the round fails with the first error. A database or chain outage fails every
 * item alike: it ends the round at once, for the job to log once.
 */
export async function forEachIsolated<T>(
  items: Iterable<T>,
  work: (item: T) => Promise<void>,
  report: (error: unknown, item: T) => void,
): Promise<void> {
  let failed: { error: unknown } | undefined;
  for (const item of items) {
    try {
      await work(item);
    } catch (error) {
      if (isDatabaseConnectivityError(error) || isChainUnreachable(error)) throw error;
      report(error, item);
      failed ??= { error };
    }
  }
  if (failed) throw failed.error;
}

/**
 * Runs one round of a periodic background job and logs its failures so that an outage of the database or
 * the chain gives one line when it starts and one when it ends, not a stack trace every poll (issue 11).
 * Other failures are logged each time, as before.
 */
export class BackgroundJob {
  private outage: string | undefined;

  constructor(
    private readonly logger: JobLogger,
    private readonly name: string,
  ) {}

  async run(round: () => Promise<unknown>): Promise<void> {
    try {
      await round();
      backgroundJobRounds.inc({ job: this.name, outcome: 'succeeded' });
      backgroundJobLastSuccess.set({ job: this.name }, Date.now() / 1000);
      if (this.outage) {
        this.logger.log({ job: this.name }, `${this.name} resumed: the ${this.outage} is reachable again`);
        this.outage = undefined;
      }
    } catch (error) {
      const outage = isDatabaseConnectivityError(error) ? 'database' : isChainUnreachable(error) ? 'chain node' : undefined;
      backgroundJobRounds.inc({ job: this.name, outcome: outage ? `${outage.replace(' ', '_')}_unreachable` : 'failed' });
      if (!outage) {
        this.logger.warn({ err: error, job: this.name }, `${this.name} failed`);
        return;
      }
      if (this.outage !== outage) this.logger.warn({ job: this.name }, `${this.name} paused: the ${outage} is unreachable`);
      this.outage = outage;
    }
  }
}
