import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { addressProblem, merged } from '../common/index.js';

export interface WebhookPolicy {
  /** Production: https only. */
  production: boolean;
  /** WEBHOOK_ALLOW_PRIVATE (tests/development only): loopback targets allowed. */
  allowLoopback: boolean;
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
  let deadline: NodeJS.Timeout | undefined;
  return new Promise<number>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: merged(headers, { 'content-length': String(Buffer.byteLength(body)) }),
        // Connect only to the vetted address (Node asks for a list when it races address families).
        lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
          options.all ? callback(null, [chosen]) : callback(null, chosen.address, chosen.family)) as never,
      },
      (response) => {
        // The status is the answer: the body is not read, so a host that trickles it holds no socket.
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    // One deadline for the whole exchange (an idle timeout alone lets a host that trickles bytes keep it open).
    deadline = setTimeout(() => request.destroy(new Error('webhook timed out')), timeoutMs);
    request.on('error', reject);
    request.end(body);
  }).finally(() => clearTimeout(deadline));
}
