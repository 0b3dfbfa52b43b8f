import type { DidDocument } from '../credentials/index.js';

export interface DidWebOptions {
  timeoutMs: number;
  maxBytes: number;
  /** http:// (for a did:web on localhost in tests); never in production. */
  allowHttp: boolean;
}

/** did:web method §3.2 (Read): `did:web:host[%3Aport][:path…]` → `https://host[:port]/(path…|.well-known)/did.json`. */
export function didWebUrl(did: string, allowHttp: boolean): URL | undefined {
  const match = /^did:web:([A-Za-z0-9.-]+(?:%3A\d{1,5})?)((?::[A-Za-z0-9._~-]+)*)$/.exec(did);
  if (!match) return undefined;
  const host = match[1]!.replace('%3A', ':');
  const path = match[2] ? `${match[2].slice(1).split(':').join('/')}/did.json` : '.well-known/did.json';
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(host);
  return new URL(`${allowHttp && loopback ? 'http' : 'https'}://${host}/${path}`);
}

/**
 * Fetches a did:web DID document: https only (http to loopback outside production), no redirects, within
 * DID_WEB_TIMEOUT_MS and DID_WEB_MAX_BYTES, and the document must be about the DID asked for. Undefined for
 * anything else; throws only when the host cannot be reached (reported as could-not-check).
 */
export async function fetchDidWebDocument(did: string, options: DidWebOptions): Promise<DidDocument | undefined> {
  const url = didWebUrl(did, options.allowHttp);
  if (!url) return undefined;
  const response = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(options.timeoutMs),
    headers: { accept: 'application/did+json, application/json' },
  });
  if (!response.ok || !response.body) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > options.maxBytes) return undefined;
    chunks.push(chunk);
  }
  try {
    const document = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DidDocument;
    return typeof document === 'object' && document !== null && document.id === did ? document : undefined;
  } catch {
    return undefined;
  }
}
