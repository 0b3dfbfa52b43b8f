import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isPublicAddress, NotPublicAddress, publicOnlyLookup } from './public-address.js';

export interface BoundedGetOptions {
  headers: Record<string, string>;
  /** For the whole exchange: connection, answer and body. */
  timeoutMs: number;
  /** The most body bytes read; a longer body is not returned (`tooLarge`). */
  maxBytes: number;
  /**
   * Whether the host may be on a private, loopback or link-local address. When not, the connection goes only to
   * an address checked public at connection time (`publicOnlyLookup`, so DNS rebinding cannot slip through) and
   * an IP literal that is not public is refused before any connection: `NotPublicAddress`.
   */
  privateHostAllowed: boolean;
}

/** A URL's host as addresses are compared: an IPv6 literal without its brackets. */
export const bareHostname = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/** Whether an operator's list of private hosts ('all' outside production) names this URL's host. */
export const privateHostListed = (listed: readonly string[] | 'all', url: URL): boolean =>
  listed === 'all' || listed.includes(bareHostname(url));

/**
 * A host never connected to: not public (`NotPublicAddress`), or no such name (NXDOMAIN, or no address records).
 * Callers answer both alike, so that which internal names exist is not told.
 */
export const isUnresolvableHost = (error: unknown): boolean =>
  ['ENOTPUBLIC', 'ENOTFOUND', 'ENODATA'].includes((error as { code?: string } | undefined)?.code ?? '');

export interface BoundedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** A 200's body within `maxBytes`; undefined for any other status (its body is not read) or when too large. */
  body: Buffer | undefined;
  tooLarge: boolean;
}

/**
 * One GET to a host named by someone else (a DID, a credential's status entry): no redirects followed, bounded in
 * time and size, and no connection to a non-public address unless `privateHostAllowed`. Rejects when the host cannot
 * be reached (its DNS or socket error, `NotPublicAddress`, or the timeout).
 */
export function boundedGet(url: URL, options: BoundedGetOptions): Promise<BoundedResponse> {
  const host = bareHostname(url);
  // An IP literal is connected to without a lookup: checked here.
  if (!options.privateHostAllowed && isIP(host) && !isPublicAddress(host)) return Promise.reject(new NotPublicAddress(host));
  let timer: NodeJS.Timeout | undefined;
  return new Promise<BoundedResponse>((resolve, reject) => {
    const request = (url.protocol === 'http:' ? httpRequest : httpsRequest)(
      url,
      // No shared keep-alive pool (agent: false): a connection opened under one host policy (a private host allowed for
      // did:web) must not be reused under another (status lists), whose lookup would never run.
      { headers: options.headers, agent: false, ...(options.privateHostAllowed ? {} : { lookup: publicOnlyLookup }) },
      (response: IncomingMessage) => {
        const answer = { status: response.statusCode ?? 0, headers: response.headers };
        if (answer.status !== 200) {
          // Its body is not wanted: the socket is closed now, so a host that never ends it holds nothing of ours.
          resolve({ ...answer, body: undefined, tooLarge: false });
          return request.destroy();
        }
        if (Number(response.headers['content-length'] ?? 0) > options.maxBytes) {
          request.destroy();
          return resolve({ ...answer, body: undefined, tooLarge: true });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            request.destroy();
            return resolve({ ...answer, body: undefined, tooLarge: true });
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ ...answer, body: Buffer.concat(chunks), tooLarge: false }));
        response.on('error', reject);
      },
    );
    timer = setTimeout(() => request.destroy(new BoundedGetTimeout(options.timeoutMs)), options.timeoutMs);
    request.on('error', reject);
    request.end();
  }).finally(() => clearTimeout(timer));
}

export class BoundedGetTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}
