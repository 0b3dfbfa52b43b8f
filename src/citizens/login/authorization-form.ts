import type { IncomingMessage } from 'node:http';

/** A POSTed authorization request becomes a GET URL: kept well within Node's 16 KB of request headers. */
export const MAX_AUTHORIZATION_QUERY = 8_192;

export type AuthorizationFormAnswer =
  { status: 303; location: string } | { status: 400 | 413; error: 'invalid_request'; description: string };

/**
 * OpenID Connect Core §3.1.2.1: the authorization endpoint MUST take a POSTed form as well as GET. oidc-provider
 * serves a POST only with SameSite=None session cookies; instead the form is answered with a 303 to the same
 * request as a GET (a top-level navigation, which carries our SameSite=Lax cookies), so one code path checks both.
 * Parameters are passed on exactly as sent, repeated ones included, so the provider answers a bad request as it
 * answers it over GET (to the portal's redirect URI when the client and URI are valid, RFC 6749 §4.1.2.1).
 */
export async function authorizationFormAnswer(
  request: IncomingMessage,
  getUrl: string,
  bodyLimitBytes: number,
): Promise<AuthorizationFormAnswer> {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    request.resume(); // drained, so the connection can be reused
    return refused(400, 'The authorization request must be a form (application/x-www-form-urlencoded)');
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > bodyLimitBytes) {
      request.resume();
      return refused(413, `The authorization request is larger than ${bodyLimitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const form = Buffer.concat(chunks).toString('utf8');
  if (form.includes('\0') || /%00/i.test(form)) return refused(400, 'A parameter contains a NUL character');
  const query = new URLSearchParams(form).toString();
  if (query.length > MAX_AUTHORIZATION_QUERY)
    return refused(400, `The authorization request is longer than ${MAX_AUTHORIZATION_QUERY} characters; push it (PAR)`);
  return { status: 303, location: `${getUrl}?${query}` };
}

const refused = (status: 400 | 413, description: string): AuthorizationFormAnswer => ({
  status,
  error: 'invalid_request',
  description,
});
