import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

export interface WebhookPolicy {
  /** Production: https only. */
  production: boolean;
  /** WEBHOOK_ALLOW_PRIVATE (tests/development only): loopback targets allowed. */
  allowLoopback: boolean;
}

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
  ['::', 128],
  ['::1', 128],
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

/** Why a webhook may not be delivered to this IP address, or undefined if it may. */
export function addressProblem(address: string, policy: Pick<WebhookPolicy, 'allowLoopback'>): string | undefined {
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

/** Checks a webhook URL at registration: scheme, no credentials, no private literal address. */
export function webhookUrlProblem(value: string, policy: WebhookPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.production))
    return policy.production ? 'must be an https URL' : 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry credentials';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const problem = addressProblem(host, policy);
    return problem ? `points to ${problem}` : undefined;
  }
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (lower === 'localhost' || lower.endsWith('.localhost')) {
    return policy.allowLoopback ? undefined : 'points to a loopback address';
  }
  if (!/^[a-z0-9.-]+$/.test(lower) || !lower.includes('.')) return 'must name a public host';
  return undefined;
}

/** Resolves a host name and refuses it if any of its addresses may not be reached. */
export async function resolvePublicAddresses(host: string, policy: WebhookPolicy): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses: LookupAddress[] = isIP(bare)
    ? [{ address: bare, family: isIP(bare) }]
    : await new Promise((resolve, reject) =>
        dnsLookup(bare, { all: true, verbatim: true }, (error, found) => (error ? reject(error) : resolve(found))),
      );
  if (addresses.length === 0) throw new Error('the host does not resolve');
  for (const { address } of addresses) {
    const problem = addressProblem(address, policy);
    if (problem) throw new Error(`the host resolves to ${problem}`);
  }
  return addresses;
}

/**
 * POSTs a webhook: the host is resolved now and refused if any address is loopback/private/etc.; the
 * connection goes to a vetted address (no second DNS answer can slip in); redirects are not followed.
 * Resolves to the HTTP status.
 */
export async function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  policy: WebhookPolicy,
  timeoutMs = 5_000,
): Promise<number> {
  const problem = webhookUrlProblem(target, policy);
  if (problem) throw new Error(`webhook URL refused: ${problem}`);
  const url = new URL(target);
  const addresses = await resolvePublicAddresses(url.hostname, policy);
  const chosen = addresses[0]!;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
        // Connect only to the vetted address (Node asks for a list when it races address families).
        lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
          options.all ? callback(null, [chosen]) : callback(null, chosen.address, chosen.family)) as never,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('timeout', () => request.destroy(new Error('webhook timed out')));
    request.on('error', reject);
    request.end(body);
  });
}
