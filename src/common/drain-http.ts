import type { Server } from 'node:http';

/**
 * Stops taking connections and lets the requests under way finish (up to `graceMs`) before anything they need is
 * torn down: on SIGTERM the service closed every socket first, so a credential committed a moment before was never
 * delivered. Idle keep-alive sockets are closed as they become idle; whatever is still open at the deadline is cut.
 */
export async function drainHttp(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  let deadline: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (deadline = setTimeout(resolve, graceMs)))]);
  clearInterval(idle);
  clearTimeout(deadline);
  server.closeAllConnections();
}
