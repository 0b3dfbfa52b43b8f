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

/**
 * A body an OID4VCI endpoint must receive as JSON (credential, deferred and notification requests, OID4VCI 1.0
 * §8.2, §9.1, §11.1) that came in another media type: the form parser would otherwise hand its strings on, and the
 * wallet would be told about its proofs instead of its encoding. A request without a body has no type to check.
 */
export function notJsonBody(headers: Headers): boolean {
  const mediaType = bodyMediaType(headers);
  return mediaType !== undefined && mediaType !== 'application/json' && !/^application\/[^/]+\+json$/.test(mediaType);
}

/**
 * A body the token or pushed authorization request endpoint must receive form-encoded (RFC 6749 §4.1.3, RFC 9126
 * §2.1) that came in another media type, JSON among them. A request without a body has no type to check.
 */
export function notFormBody(headers: Headers): boolean {
  const mediaType = bodyMediaType(headers);
  return mediaType !== undefined && mediaType !== 'application/x-www-form-urlencoded';
}

/** The body's media type, lower case and without parameters; undefined without a Content-Type. */
function bodyMediaType(headers: Headers): string | undefined {
  return headers.get('content-type')?.split(';', 1)[0]!.trim().toLowerCase();
}
