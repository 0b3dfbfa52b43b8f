import { createHook } from 'node:async_hooks';

/**
 * Counts node:crypto signature jobs that ran on libuv's threadpool (ADR 28): the callback form enters an
 * async_hooks `before` callback when its answer comes back; the inline form creates the same kind of
 * resource but never enters it. Process-wide while enabled: `stop()` it in a `finally`.
 */
export function threadpoolSignatureJobs() {
  const jobs = new Set<number>();
  let count = 0;
  const hook = createHook({
    init: (id, type) => void (type === 'SIGNREQUEST' && jobs.add(id)),
    before: (id) => void (jobs.has(id) && count++),
  }).enable();
  return {
    get count() {
      return count;
    },
    reset: () => void (count = 0),
    stop: () => void hook.disable(),
  };
}
