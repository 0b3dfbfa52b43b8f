import { boundedGet, isUnresolvableHost, privateHostListed } from '../common/index.js';
import { didDocumentProblem, type DidDocument } from '../credentials/index.js';

export interface DidWebOptions {
  timeoutMs: number;
  maxBytes: number;
  /** http:// (for a did:web on localhost in tests); never in production. */
  allowHttp: boolean;
  /**
   * Hosts on private, loopback or link-local addresses (outside production: every host). Any presentation
   * names its holder's DID, so in production a did:web may only make the service connect to the public
   * internet, except to the hosts an operator lists (DID_WEB_PRIVATE_HOSTS, intranet trust anchors).
   */
  privateHosts: readonly string[] | 'all';
}

/** did:web method §3.2 (Read): `did:web:host[%3Aport][:path…]` → `https://host[:port]/(path…|.well-known)/did.json`. */
export function didWebUrl(did: string, allowHttp: boolean): URL | undefined {
  const match = /^did:web:([A-Za-z0-9.-]+(?:%3A\d{1,5})?)((?::[A-Za-z0-9._~-]+)*)$/.exec(did);
  if (!match) return undefined;
  const host = match[1]!.replace('%3A', ':');
  const path = match[2] ? `${match[2].slice(1).split(':').join('/')}/did.json` : '.well-known/did.json';
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(host);
  // URL.canParse: a port above 65535 matches the pattern but makes no URL; such a DID does not resolve.
  const url = `${allowHttp && loopback ? 'http' : 'https'}://${host}/${path}`;
  return URL.canParse(url) ? new URL(url) : undefined;
}

/**
 * Fetches a did:web DID document: https only (http to loopback outside production), no redirects, within
 * DID_WEB_TIMEOUT_MS and DID_WEB_MAX_BYTES, and the document must be about the DID asked for; a host that
 * is not public (see `privateHosts`) is never connected to. Undefined for anything else, a refused host
 * included, and a name that does not exist (the same answer as a missing document, so the verifier tells
 * nothing about private networks); throws only when a public host cannot be reached (reported as could-not-check).
 */
export async function fetchDidWebDocument(did: string, options: DidWebOptions): Promise<DidDocument | undefined> {
  const url = didWebUrl(did, options.allowHttp);
  if (!url) return undefined;
  let body: Buffer | undefined;
  try {
    const response = await boundedGet(url, {
      headers: { accept: 'application/did+json, application/json' },
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      privateHostAllowed: privateHostListed(options.privateHosts, url),
    });
    body = response.body;
  } catch (error) {
    // A name that does not exist is a DID that does not resolve, answered like a refused host: otherwise the
    // two answers would tell an anonymous caller which internal names exist (resolving to private addresses).
    if (isUnresolvableHost(error)) return undefined;
    throw error;
  }
  if (!body) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  // Whoever controls the host writes this document: every member the verifier reads must have its shape.
  return didDocumentProblem(document, did) === undefined ? (document as DidDocument) : undefined;
}
