/** How long OID4VCI values live, in seconds (the issuer's policy; the specs leave them to us). */

/** A c_nonce from the nonce endpoint. */
export const NONCE_TTL_SECONDS = 300;
// An access token lives OID4VCI_ACCESS_TOKEN_TTL_SECONDS (src/config, 600 by default); a refresh-token
// family at most OID4VCI_REFRESH_TOKEN_MAX_SECONDS and never beyond its offer (ADR 18).
/** A pushed authorization request's request_uri (RFC 9126 §2.2: short). */
export const PAR_TTL_SECONDS = 90;
/**
 * The citizen's sign-in, once the login page has opened within PAR_TTL_SECONDS: RFC 9126's short lifetime is for
 * the request_uri's way to the authorization endpoint, not for a person finding and typing a login code.
 */
export const LOGIN_TTL_SECONDS = 600;
/** An authorization code (RFC 6749 §4.1.2: short, 10 minutes at most). */
export const CODE_TTL_SECONDS = 60;
/** The polling interval the deferred endpoint asks for. */
export const DEFERRED_INTERVAL_SECONDS = 5;
/** Wrong PINs (tx_code) or login codes before an offer is locked. */
export const MAX_CODE_FAILURES = 5;
/** Proofs per credential request (`batch_credential_issuance.batch_size`). */
export const MAX_PROOFS_PER_REQUEST = 10;
