import { Oauth2Error, Oauth2ResourceUnauthorizedError, Oauth2ServerErrorResponseError } from '@openid4vc/oauth2';
import { OpenId4VcBaseError } from '@openid4vc/utils';
import { isOAuthErrorCode, OAuthError, type OAuthErrorCode } from '../common/index.js';
import { HOLDER_KEY_ALGORITHMS } from '../credentials/index.js';
import { oauthError, unauthorizedError, type AuthScheme } from './oauth-errors.js';

/** Fixed texts for the protocol library's errors: its own messages (multi-line, echoing input) never reach clients. */
export const LIBRARY_DESCRIPTIONS: Partial<Record<OAuthErrorCode, string>> = {
  invalid_request: 'The request is malformed or misses a required parameter',
  invalid_grant: 'The grant is invalid, expired or already used',
  invalid_client: 'Client authentication failed',
  unsupported_grant_type: 'Use the pre-authorized code, authorization code or refresh token grant',
  invalid_dpop_proof: 'The DPoP proof is invalid',
  invalid_token: 'The access token is invalid or expired',
  invalid_proof: 'The key proof is invalid',
  invalid_nonce: 'The proof nonce is invalid; get a fresh one from the nonce endpoint',
  invalid_credential_request: 'The credential request is invalid',
  unknown_credential_configuration: 'Unknown credential configuration',
  unknown_credential_identifier: 'Unknown credential identifier',
};

/**
 * Errors of the protocol library keep their OAuth / OID4VC error code, get a fixed safe description and,
 * at protected endpoints, a well-formed challenge; any other library error about the client's input is
 * `fallback` (400). Our own OAuthErrors, and anything that is not a library error, pass through.
 */
export function asOAuthError(error: unknown, fallback: OAuthErrorCode, schemes: readonly AuthScheme[] | undefined): unknown {
  if (error instanceof OAuthError) return error;
  if (error instanceof Oauth2ResourceUnauthorizedError) {
    const challenge = error.wwwAuthenticateHeaders[0];
    const allowed = schemes ?? ['DPoP', 'Bearer'];
    if (!challenge?.error) return unauthorizedError({ schemes: allowed, dpopAlgs: HOLDER_KEY_ALGORITHMS });
    const code = isOAuthErrorCode(challenge.error) ? challenge.error : 'invalid_token';
    const scheme: AuthScheme = challenge.scheme === 'Bearer' && code !== 'invalid_dpop_proof' ? 'Bearer' : 'DPoP';
    return unauthorizedError({
      schemes: allowed,
      dpopAlgs: HOLDER_KEY_ALGORITHMS,
      error: { scheme, code, description: LIBRARY_DESCRIPTIONS[code] ?? LIBRARY_DESCRIPTIONS['invalid_token'] },
    });
  }
  if (error instanceof Oauth2ServerErrorResponseError) {
    const code = isOAuthErrorCode(error.errorResponse.error) ? error.errorResponse.error : fallback;
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
    return oauthError(status, code, LIBRARY_DESCRIPTIONS[code] ?? LIBRARY_DESCRIPTIONS[fallback]);
  }
  if (error instanceof Oauth2Error || error instanceof OpenId4VcBaseError) {
    return oauthError(400, fallback, LIBRARY_DESCRIPTIONS[fallback]);
  }
  return error;
}

/** Runs protocol work and rethrows what fails as our OAuthError (see asOAuthError). */
export async function mapErrors<T>(
  work: () => Promise<T>,
  fallback: OAuthErrorCode = 'invalid_request',
  schemes?: readonly AuthScheme[],
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asOAuthError(error, fallback, schemes);
  }
}
