import { OAuthError } from '../common/index.js';

/** Longest error_description we send; longer texts are cut (with an ellipsis). */
export const MAX_ERROR_DESCRIPTION_LENGTH = 200;

/**
 * One line of text within RFC 6749 §5.2's error_description character set (%x20-21 / %x23-5B / %x5D-7E):
 * control characters, line breaks, `"`, `\` and anything outside printable ASCII become spaces, runs of
 * spaces collapse, and the text is bounded. Safe inside a quoted-string of a WWW-Authenticate challenge.
 */
export function safeErrorDescription(text: unknown, fallback = 'The request is invalid'): string {
  const raw = typeof text === 'string' ? text : '';
  let clean = raw
    .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (!clean) clean = fallback;
  if (clean.length > MAX_ERROR_DESCRIPTION_LENGTH) clean = `${clean.slice(0, MAX_ERROR_DESCRIPTION_LENGTH - 3).trimEnd()}...`;
  return clean;
}

/** RFC 6749 §5.2 error codes: %x20-21 / %x23-5B / %x5D-7E, and we only ever use snake_case names. */
const ERROR_CODE = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The one way OID4VCI code builds an OAuth / OID4VC error: the code is checked, the description is made
 * safe (one line, RFC 6749 character set, bounded), so nothing a library or a client wrote reaches a
 * response or a header verbatim.
 */
export function oauthError(
  status: number,
  error: string,
  description?: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): OAuthError {
  const code = ERROR_CODE.test(error) ? error : 'invalid_request';
  return new OAuthError(status, code, safeErrorDescription(description), extra, headers);
}

export type AuthScheme = 'DPoP' | 'Bearer';

/**
 * A WWW-Authenticate value (RFC 9110 §11.6.1) with one challenge per scheme: RFC 9449 §7.1 for DPoP
 * (with `algs`), RFC 6750 §3 for Bearer. `error` goes into the challenge of `errorScheme` only; without
 * an error (a request that carried no credentials) the challenges name no error, as RFC 6750 §3.1 asks.
 */
export function wwwAuthenticate(options: {
  schemes: readonly AuthScheme[];
  dpopAlgs: readonly string[];
  error?: { scheme: AuthScheme; code: string; description?: string };
}): string {
  return options.schemes
    .map((scheme) => {
      const params: string[] = [];
      if (scheme === 'DPoP') params.push(`algs="${options.dpopAlgs.filter((alg) => /^[A-Za-z0-9]+$/.test(alg)).join(' ')}"`);
      if (options.error?.scheme === scheme) {
        const code = ERROR_CODE.test(options.error.code) ? options.error.code : 'invalid_request';
        params.push(`error="${code}"`, `error_description="${safeErrorDescription(options.error.description)}"`);
      }
      return params.length ? `${scheme} ${params.join(', ')}` : scheme;
    })
    .join(', ');
}

/** A 401 from a protected OID4VCI endpoint, with its challenge in WWW-Authenticate and the same error in the body. */
export function unauthorizedError(options: {
  schemes: readonly AuthScheme[];
  dpopAlgs: readonly string[];
  error?: { scheme: AuthScheme; code: string; description?: string };
}): OAuthError {
  const header = wwwAuthenticate(options);
  if (!options.error) {
    return oauthError(401, 'invalid_token', 'An access token is required', {}, { 'www-authenticate': header });
  }
  return oauthError(401, options.error.code, options.error.description, {}, { 'www-authenticate': header });
}
