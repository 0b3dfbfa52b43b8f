import { createHash } from 'node:crypto';
import type { OAuthError } from '../common/index.js';
import { LIBRARY_DESCRIPTIONS, oauthError } from '../oauth/index.js';

/** What the token endpoint knows of an authorization code's session (PAR → login → code). */
export interface CodeSession {
  status: 'pushed' | 'authorized' | 'exchanged';
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  codeExpiresAt: Date | null;
  /** RFC 9449 §10: the thumbprint of the pushed request's DPoP key, or null. */
  dpopJkt: string | null;
}

export interface CodeTokenRequest {
  redirectUri: unknown;
  clientId: unknown;
  codeVerifier: string | undefined;
  /** Whether the token request carries a DPoP proof (its key is checked against dpopJkt by the library). */
  hasDpopProof: boolean;
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** RFC 7636 §4.6 with S256: BASE64URL(SHA256(ASCII(code_verifier))) equals the stored code_challenge. */
export function pkceS256Matches(codeVerifier: string, codeChallenge: string): boolean {
  return (
    CODE_VERIFIER.test(codeVerifier) && createHash('sha256').update(codeVerifier, 'ascii').digest('base64url') === codeChallenge
  );
}

/**
 * The authorization code grant (RFC 6749 §4.1.3, RFC 7636, RFC 9449 §10), before the library checks the
 * DPoP proof itself: the code names an authorized, unused session; redirect_uri is the pushed one; the
 * client names itself and is the one the code was issued to; a code bound to a DPoP key comes with a proof; the PKCE
 * verifier matches (S256 only); the code has not expired.
 */
export function authorizationCodeGrantProblem(
  session: CodeSession | null,
  request: CodeTokenRequest,
  now: Date,
): OAuthError | undefined {
  if (!session || session.status !== 'authorized') return oauthError(400, 'invalid_grant', 'Unknown or used authorization code');
  if (request.redirectUri !== session.redirectUri)
    return oauthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
  // RFC 6749 §4.1.3: client_id is "REQUIRED, if the client is not authenticating", and no client authenticates here.
  if (request.clientId === undefined)
    return oauthError(400, 'invalid_request', 'client_id is required: the authorization code is exchanged by its client');
  if (request.clientId !== session.clientId)
    return oauthError(400, 'invalid_grant', 'The authorization code was issued to another client');
  if (session.dpopJkt && !request.hasDpopProof)
    return oauthError(400, 'invalid_dpop_proof', 'The authorization code is bound to a DPoP key; send a DPoP proof with it');
  // The same answers the protocol library gives for these, which it also checks.
  if (request.codeVerifier === undefined) return oauthError(400, 'invalid_request', LIBRARY_DESCRIPTIONS['invalid_request']);
  if (!pkceS256Matches(request.codeVerifier, session.codeChallenge))
    return oauthError(400, 'invalid_grant', LIBRARY_DESCRIPTIONS['invalid_grant']);
  if (!session.codeExpiresAt || now.getTime() > session.codeExpiresAt.getTime())
    return oauthError(400, 'invalid_grant', LIBRARY_DESCRIPTIONS['invalid_grant']);
  return undefined;
}
