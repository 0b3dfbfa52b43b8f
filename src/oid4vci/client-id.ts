import { oauthError } from '../oauth/index.js';

/** Longest client_id a token request may name and a grant keeps (a did:jwk of an RSA key runs to ~700 characters). */
const MAX_CLIENT_ID = 1000;

/**
 * The client_id of a token request (RFC 6749 §3.2.1, §4.1.3, §6; OID4VCI 1.0 §6.1), one rule for every grant:
 * undefined when absent or empty; anything but a string of at most MAX_CLIENT_ID characters is invalid_request.
 */
export function tokenRequestClientId(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_CLIENT_ID)
    throw oauthError(400, 'invalid_request', `client_id must be a string of at most ${MAX_CLIENT_ID} characters`);
  return value;
}
