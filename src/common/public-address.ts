import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Loopback, private, link-local, CGNAT, multicast, unspecified, documentation and reserved ranges. */
const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  forbidden.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  // The unspecified and loopback addresses, and the deprecated IPv4-compatible ones (::a.b.c.d, ::a9fe:a9fe).
  ['::', 96],
  // Local-use NAT64 (RFC 8215): on a network that has it, it reaches private IPv4 addresses.
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2001::', 23],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  forbidden.addSubnet(network, prefix, 'ipv6');

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16). */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  const pair = hex ?? sixToFour;
  if (!pair) return undefined;
  const high = parseInt(pair[1]!, 16);
  const low = parseInt(pair[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Why a connection a client chose (a webhook, a did:web host) may not go to this IP address, or undefined if it
 * may. `allowLoopback`: tests and development only.
 */
export function addressProblem(address: string, policy: { allowLoopback: boolean }): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const v4 = type === 'ipv6' ? embeddedIpv4(address) : undefined;
  if (v4 !== undefined) return addressProblem(v4, policy);
  if (policy.allowLoopback && loopback.check(address, type)) return undefined;
  if (type === 'ipv6' && address.toLowerCase().startsWith('::ffff:')) return 'a mapped address';
  if (forbidden.check(address, type)) return 'a loopback, private, link-local, multicast or reserved address';
  return undefined;
}

/** True for an IP address on the public internet (false for anything that is not an address). */
export function isPublicAddress(address: string): boolean {
  return addressProblem(address, { allowLoopback: false }) === undefined;
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
