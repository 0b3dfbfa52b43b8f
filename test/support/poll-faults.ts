import type { Page } from 'playwright-core';

/** What a page's poll meets instead of the service: a rate limit (with its Retry-After), a server error, a reset. */
export type PollFault = { status: 429; retryAfterSeconds: number } | { status: 503 } | 'reset';

const PROBLEM = {
  429: { type: 'about:blank', title: 'Too Many Requests', status: 429, code: 'rate_limited' },
  503: { type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'database_unavailable' },
};

/**
 * Answers the page's next requests matching `pattern` with `faults`, one each, then lets the rest through. Returns
 * when each of them was sent (`performance.now()`), so a test can wait for them and check the gaps.
 */
export async function faultyPolls(page: Page, pattern: string, faults: PollFault[]): Promise<number[]> {
  const sentAt: number[] = [];
  await page.route(pattern, async (route) => {
    sentAt.push(performance.now());
    const fault = faults[sentAt.length - 1];
    if (fault === undefined) return route.continue();
    if (fault === 'reset') return route.abort('connectionreset');
    return route.fulfill({
      status: fault.status,
      headers: {
        'content-type': 'application/problem+json',
        ...(fault.status === 429 ? { 'retry-after': String(fault.retryAfterSeconds) } : {}),
      },
      body: JSON.stringify(PROBLEM[fault.status]),
    });
  });
  return sentAt;
}
