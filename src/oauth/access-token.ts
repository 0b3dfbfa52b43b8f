import { readJosePart } from '../credentials/index.js';
import type { OAuthErrorCode } from '../common/index.js';
import type { AuthScheme } from './oauth-errors.js';

/** The Authorization header of a request to a protected resource, as far as it can be read without a key. */
export type PresentedToken =
  | { ok: true; scheme: AuthScheme; token: string; kid: string | undefined }
  /** `scheme` undefined: no credentials were sent (RFC 6750 §3.1: the challenge names no error). */
  | { ok: false; scheme: AuthScheme | undefined; code: OAuthErrorCode; description: string };

/** The scheme is case-insensitive and followed by one or more spaces (RFC 9110 §11.1, §11.4). */
const AUTHORIZATION = /^(DPoP|Bearer) +([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * RFC 6750 §2.1 / RFC 9449 §7.1 before any signature is checked: one `DPoP` or `Bearer` token (token68
 * syntax) of JWT shape; a DPoP-bound token (cnf.jkt) only with the DPoP scheme and a proof, and the DPoP
 * scheme only with a bound token. The token's `kid` is returned so the caller can find the key.
 */
export function presentedAccessToken(authorization: string | null, dpopProof: string | null): PresentedToken {
  const refused = (scheme: AuthScheme | undefined, code: OAuthErrorCode, description: string): PresentedToken => ({
    ok: false,
    scheme,
    code,
    description,
  });
  if (!authorization) return refused(undefined, 'invalid_token', 'An access token is required');
  // RFC 6750 §3.1: credentials of a method we do not take (Basic, …) are as none: the challenge names no error.
  if (!/^(DPoP|Bearer)(\s|$)/i.test(authorization))
    return refused(undefined, 'invalid_token', 'An access token is required (DPoP or Bearer)');
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return refused('Bearer', 'invalid_token', 'The Authorization header must be DPoP or Bearer with a token');
  const scheme: AuthScheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  const token = match[2]!;
  const header = readJosePart(token, 0);
  const claims = readJosePart(token, 1);
  if (!header || !claims) return refused(scheme, 'invalid_token', 'The access token is invalid or expired');
  const bound = typeof (claims['cnf'] as Record<string, unknown> | undefined)?.['jkt'] === 'string';
  if (bound && scheme !== 'DPoP') return refused('DPoP', 'invalid_token', 'This access token is DPoP-bound; use the DPoP scheme');
  if (scheme === 'DPoP' && !bound) return refused('DPoP', 'invalid_token', 'This access token is not DPoP-bound');
  if (scheme === 'DPoP' && dpopProof === null)
    return refused('DPoP', 'invalid_dpop_proof', 'A DPoP proof is required with a DPoP-bound access token');
  return { ok: true, scheme, token, kid: typeof header['kid'] === 'string' ? header['kid'] : undefined };
}
