import { PkceCodeChallengeMethod } from '@openid4vc/oauth2';
import { merged, type OAuthError } from '../common/index.js';
import { oauthError } from '../oauth/index.js';
import type { GrantOffer } from './pre-authorized-grant.js';

/** RFC 7638 SHA-256 thumbprints and S256 challenges: 43 base64url characters. */
const SHA256_BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/** Upper bounds of what we keep of a pushed request, as wide as the columns that store them. */
export const PAR_FIELD_LIMITS = { clientId: 200, redirectUri: 500, state: 200 } as const;

/** What a pushed authorization request leaves, once checked, for the session. */
export interface CheckedPushedRequest {
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  issuerState: string | undefined;
}

/** RFC 9449 §10.1: a dpop_jkt parameter is a SHA-256 JWK thumbprint. */
export function dpopJktProblem(dpopJkt: string | undefined): OAuthError | undefined {
  if (dpopJkt !== undefined && !SHA256_BASE64URL.test(dpopJkt))
    return oauthError(400, 'invalid_request', 'dpop_jkt must be a base64url SHA-256 JWK thumbprint');
  return undefined;
}

/**
 * A pushed authorization request (RFC 9126) we accept: response_type code, client_id and redirect_uri,
 * PKCE with S256 (RFC 9700 §2.1.1), fields within the stored bounds, and a redirect_uri that is exactly one
 * of the registered wallet redirect URIs (RFC 9700 §4.1.1; no prefix, case or query variations).
 */
export function checkPushedAuthorizationRequest(
  request: Record<string, string | undefined>,
  walletRedirectUris: ReadonlySet<string>,
): CheckedPushedRequest {
  const { client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: method } = request;
  if (request['response_type'] !== 'code') throw oauthError(400, 'unsupported_response_type', 'response_type must be code');
  if (!clientId || !redirectUri) throw oauthError(400, 'invalid_request', 'client_id and redirect_uri are required');
  if (!challenge || method !== PkceCodeChallengeMethod.S256 || !SHA256_BASE64URL.test(challenge))
    throw oauthError(400, 'invalid_request', 'PKCE with code_challenge_method S256 is required');
  // Bounded like the columns that keep them, so oversize values are a client error, not a failed insert.
  if (
    clientId.length > PAR_FIELD_LIMITS.clientId ||
    redirectUri.length > PAR_FIELD_LIMITS.redirectUri ||
    (request['state']?.length ?? 0) > PAR_FIELD_LIMITS.state
  )
    throw oauthError(400, 'invalid_request', 'client_id, redirect_uri or state is too long');
  if (!walletRedirectUris.has(redirectUri))
    throw oauthError(400, 'invalid_request', 'redirect_uri is not a registered wallet redirect URI');
  return {
    clientId,
    redirectUri,
    state: request['state'] ?? null,
    codeChallenge: challenge,
    issuerState: request['issuer_state'],
  };
}

/** RFC 9396 authorization_details of type openid_credential (OID4VCI 1.0 §5.1.1), as the configuration ids they name. */
export function authorizationDetailsConfigurations(value: unknown, known: Record<string, unknown>): string[] | undefined {
  if (value === undefined) return undefined;
  let details: unknown = value;
  if (typeof value === 'string') {
    try {
      details = JSON.parse(value);
    } catch {
      throw oauthError(400, 'invalid_authorization_details', 'authorization_details is not JSON');
    }
  }
  if (!Array.isArray(details) || details.length === 0 || details.length > 10)
    throw oauthError(400, 'invalid_authorization_details', 'authorization_details must be a non-empty array');
  return details.map((detail: unknown) => {
    const entry = detail as Record<string, unknown> | null;
    if (entry?.['type'] !== 'openid_credential' || typeof entry['credential_configuration_id'] !== 'string')
      throw oauthError(
        400,
        'invalid_authorization_details',
        'Each authorization detail needs type openid_credential and credential_configuration_id',
      );
    if (!Object.hasOwn(known, entry['credential_configuration_id']))
      throw oauthError(400, 'invalid_authorization_details', 'authorization_details names an unknown credential configuration');
    return entry['credential_configuration_id'];
  });
}

/**
 * The offer a pushed request's issuer_state names must be an open, unexpired authorization-code offer,
 * and offer every configuration authorization_details asks for.
 */
export function pushedRequestOfferProblem(
  offer: (GrantOffer & { configurationIds: readonly string[] }) | null,
  requested: readonly string[] | undefined,
  now: Date,
): OAuthError | undefined {
  if (!offer || offer.flow !== 'authorization_code' || offer.status !== 'offered' || offer.expiresAt <= now)
    return oauthError(400, 'invalid_request', 'issuer_state does not name an open credential offer');
  if (requested?.some((id) => !offer.configurationIds.includes(id)))
    return oauthError(400, 'invalid_authorization_details', 'authorization_details names a credential that was not offered');
  return undefined;
}

/** The authorization endpoint takes only a request_uri of a pushed request, with its client_id. */
export function authorizeParametersProblem(clientId: unknown, requestUri: unknown): OAuthError | undefined {
  if (typeof requestUri !== 'string' || typeof clientId !== 'string')
    return oauthError(400, 'invalid_request', 'Use a request_uri from the pushed authorization request endpoint, with client_id');
  return undefined;
}

/** A pushed request can be used at the authorization endpoint once, by its client, before it expires. */
export function pushedSessionProblem(
  session: { clientId: string; status: string; requestExpiresAt: Date } | null,
  clientId: string,
  now: Date,
): OAuthError | undefined {
  if (!session || session.clientId !== clientId || session.status !== 'pushed' || session.requestExpiresAt <= now)
    return oauthError(400, 'invalid_request', 'The request_uri is unknown, used or expired');
  return undefined;
}

/**
 * The redirect back to the wallet (RFC 6749 §4.1.2 / §4.1.2.1): the code or the error, the request's
 * state, and `iss` (RFC 9207) so the wallet can tell which authorization server answered.
 */
export function authorizationResponseUrl(
  session: { redirectUri: string; state: string | null },
  params: Record<string, string>,
  issuer: string,
): string {
  const url = new URL(session.redirectUri);
  for (const [name, value] of Object.entries(
    merged(params, session.state ? { state: session.state, iss: issuer } : { iss: issuer }),
  )) {
    url.searchParams.set(name, value);
  }
  return url.toString();
}
