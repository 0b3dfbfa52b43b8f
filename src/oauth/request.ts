import type { RequestLike } from '@openid4vc/oauth2';

/**
 * Adapts an HTTP request to the protocol library's view: the full public URL (our base, not the socket's
 * host, so DPoP `htu` is checked against what the wallet was told), the headers and the method.
 */
export function requestLike(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
): RequestLike {
  const fetchHeaders = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) fetchHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { method: method as RequestLike['method'], url: base + path.split('?')[0], headers: fetchHeaders };
}
