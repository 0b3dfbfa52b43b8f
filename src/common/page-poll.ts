/**
 * The answer handling shared by the pages that poll their own request (wallet login, records, desk), as browser
 * script to inline before the page's own. `pollAnswer(url, init, next, pollMs, ended)` resolves to the answer's
 * JSON body, or to undefined once it has taken the next step itself:
 * - 429 is "not so fast" (the polls are rate limited), not an end: `next` runs after Retry-After (1–60 s);
 * - any other 4xx means the request is gone (ended, purged, another browser's): `ended` is called, no more polls;
 * - a 5xx (a restart's 503, an outage), a network failure or a body that is not JSON says nothing about the
 *   request: `next` runs after pollMs, at least 2 s.
 */
export const POLL_ANSWER_SCRIPT = `async function pollAnswer(url, init, next, pollMs, ended) {
  let response;
  try {
    response = await fetch(url, init);
    if (response.ok) return await response.json();
  } catch {}
  if (response && response.status === 429) {
    setTimeout(next, Math.min(60, Math.max(1, Number(response.headers.get('retry-after')) || 5)) * 1000);
  } else if (response && response.status >= 400 && response.status < 500) {
    ended();
  } else {
    setTimeout(next, Math.max(2000, pollMs));
  }
  return undefined;
}`;
