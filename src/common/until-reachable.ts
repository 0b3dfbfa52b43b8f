/**
 * Runs `attempt` until it succeeds, waiting while `isOutage` says its failure is a dependency that is down (the
 * database, the chain node) and rethrowing anything else. For start-up: a replica restarted during an outage
 * waits for it to end, saying so once and then every minute, instead of exiting with a stack trace and staying
 * down after the outage. The waits grow from `firstDelayMs` to `maxDelayMs`.
 */
export async function untilReachable<T>(
  attempt: () => Promise<T>,
  options: {
    isOutage: (error: unknown) => boolean;
    onWait: (error: unknown, attempt: number) => void;
    firstDelayMs?: number;
    maxDelayMs?: number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const { firstDelayMs = 500, maxDelayMs = 5_000 } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!options.isOutage(error)) throw error;
      options.onWait(error, tries);
      await sleep(Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(tries - 1, 10)));
    }
  }
}

/** Whether a start-up wait deserves a log line: the first, then about once a minute at the longest delay. */
export const worthLogging = (attempt: number): boolean => attempt === 1 || attempt % 12 === 0;
