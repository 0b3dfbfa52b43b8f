import { isIPv6 } from 'node:net';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The key a client's connections are counted under: its IPv4 address, or its IPv6 /64 (one subscriber's
 * network, which hands out any number of addresses). IPv4-mapped and NAT64 addresses count as their IPv4 address.
 */
export function connectionAddressKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  // IPv4-mapped, and NAT64's well-known prefix (RFC 6052): each IPv4 client behind it counts alone.
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (embedded) return embedded[1]!;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  if (remoteAddress === '::1') return '::1';
  const [head = '', tail = ''] = remoteAddress.toLowerCase().split('::', 2) as [string, string?];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Loopback clients are this host's own: a reverse proxy beside the service, health checks, an operator's tools. */
export const isLoopbackKey = (key: string): boolean => /^127\./.test(key) || key === '::1';

/**
 * Closes a new connection when its address already holds `limit`: without it one client could take every one of
 * HTTP_MAX_CONNECTIONS with idle keep-alive sockets (72 s each, renewed by one request) and lock everyone else out.
 * Counted per socket, so the count is exact whatever the sockets do. Addresses `exempt` approves are not counted.
 */
export function limitConnectionsPerAddress(
  server: Server,
  limit: number,
  exempt: (key: string) => boolean = isLoopbackKey,
): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = connectionAddressKey(socket.remoteAddress);
    if (exempt(key)) return;
    const count = (open.get(key) ?? 0) + 1;
    if (count > limit) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
