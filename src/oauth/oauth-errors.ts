import {
  isOAuthErrorCode,
  MAX_ERROR_DESCRIPTION_LENGTH,
  OAuthError,
  safeErrorDescription,
  type OAuthErrorCode,
} from '../common/index.js';

// The sanitiser lives in src/common so the exception filter and OAuthError itself use the same rule.
export { safeErrorDescription, MAX_ERROR_DESCRIPTION_LENGTH };

/**
 * The one way protocol code builds an OAuth / OID4VC error: the code is one of ours (checked again at run
 * time, for values that came through a library), the description is made safe (one line, RFC 6749
 * character set, bounded), so nothing a library or a client wrote reaches a response or a header verbatim.
 */
export function oauthError(
  status: number,
  error: OAuthErrorCode,
  description?: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): OAuthError {
  const code = isOAuthErrorCode(error) ? error : 'invalid_request';
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
  error?: { scheme: AuthScheme; code: OAuthErrorCode; description?: string };
}): string {
  return options.schemes
    .map((scheme) => {
      const params: string[] = [];
      if (scheme === 'DPoP') params.push(`algs="${options.dpopAlgs.filter((alg) => /^[A-Za-z0-9]+$/.test(alg)).join(' ')}"`);
      if (options.error?.scheme === scheme) {
        const code = isOAuthErrorCode(options.error.code) ? options.error.code : 'invalid_request';
        params.push(`error="${code}"`, `error_description="${safeErrorDescription(options.error.description)}"`);
      }
      return params.length ? `${scheme} ${params.join(', ')}` : scheme;
    })
    .join(', ');
}

/** A 401 from a protected endpoint, with its challenge in WWW-Authenticate and the same error in the body. */
export function unauthorizedError(options: {
  schemes: readonly AuthScheme[];
  dpopAlgs: readonly string[];
  error?: { scheme: AuthScheme; code: OAuthErrorCode; description?: string };
}): OAuthError {
  const header = wwwAuthenticate(options);
  if (!options.error) {
    return oauthError(401, 'invalid_token', 'An access token is required', {}, { 'www-authenticate': header });
  }
  return oauthError(401, options.error.code, options.error.description, {}, { 'www-authenticate': header });
}

/**
 * A 403 insufficient_scope (RFC 6750 §3.1) from a protected endpoint: the token is good but does not cover what
 * was asked (OID4VCI 1.0 §8.3.1.1 for a credential outside the token's grant), with the challenge of the scheme used.
 */
export function insufficientScopeError(options: {
  scheme: AuthScheme;
  dpopAlgs: readonly string[];
  description: string;
}): OAuthError {
  const header = wwwAuthenticate({
    schemes: [options.scheme],
    dpopAlgs: options.dpopAlgs,
    error: { scheme: options.scheme, code: 'insufficient_scope', description: options.description },
  });
  return oauthError(403, 'insufficient_scope', options.description, {}, { 'www-authenticate': header });
}
