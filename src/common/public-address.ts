import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a request chosen by a client must never reach: this host, private and shared networks, link-local
 * (cloud metadata at 169.254.169.254), multicast, reserved and documentation ranges (RFC 6890 and its IPv6
 * peers).
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** True for an IP address on the public internet (false for anything that is not an address). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4 mapped into IPv6 is judged as the IPv4 address it carries (a BlockList rule for ::ffff:0:0/96
  // would also match every IPv4 address checked as such).
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return isPublicAddress(mapped);
  if (family === 6 && /^::ffff:/i.test(address)) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The error of a connection refused because its host is not public (`code` ENOTPUBLIC). */
export class NotPublicAddress extends Error {
  readonly code = 'ENOTPUBLIC';
  constructor(host: string) {
    super(`${host.slice(0, 100)} does not resolve to a public address`);
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request` (and `net.connect`) that connects only to public addresses: every address
 * the name resolves to must be public, and the connection goes to an address checked here, so a DNS answer
 * that changes between a check and the connection (rebinding) cannot slip through. IP literals never reach
 * a lookup: check them with `isPublicAddress` first.
 */
export function publicOnlyLookup(
  hostname: string,
  options: { family?: number | string; all?: boolean } | number,
  callback: LookupCallback,
): void {
  const asked = typeof options === 'number' ? { family: options } : options;
  const family = asked.family === 'IPv4' ? 4 : asked.family === 'IPv6' ? 6 : Number(asked.family ?? 0);
  const all: LookupAllOptions = { all: true, family: family === 4 || family === 6 ? family : 0 };
  dnsLookup(hostname, all, (error, addresses) => {
    if (error) return callback(error, []);
    if (addresses.length === 0 || !addresses.every((entry) => isPublicAddress(entry.address))) {
      return callback(new NotPublicAddress(hostname) as unknown as NodeJS.ErrnoException, []);
    }
    if (asked.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
