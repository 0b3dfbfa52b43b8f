/** OpenAPI response schemas of the authorization server's routes. */

const JWK_SCHEMA = {
  type: 'object',
  required: ['kty', 'crv', 'x', 'y', 'kid'],
  properties: {
    kty: { type: 'string', enum: ['EC'] },
    crv: { type: 'string', enum: ['P-256'] },
    x: { type: 'string' },
    y: { type: 'string' },
    kid: { type: 'string', description: 'RFC 7638 thumbprint' },
    use: { type: 'string', enum: ['sig'] },
    alg: { type: 'string', enum: ['ES256'] },
  },
};

export const JWKS_SCHEMA = {
  type: 'object',
  required: ['keys'],
  properties: { keys: { type: 'array', items: JWK_SCHEMA, description: 'every active access-token key, newest first' } },
};

/** RFC 8414 §2. */
export const AUTHORIZATION_SERVER_METADATA_SCHEMA = {
  type: 'object',
  required: ['issuer', 'token_endpoint', 'jwks_uri'],
  properties: {
    issuer: { type: 'string', format: 'uri' },
    token_endpoint: { type: 'string', format: 'uri' },
    authorization_endpoint: { type: 'string', format: 'uri' },
    pushed_authorization_request_endpoint: { type: 'string', format: 'uri' },
    require_pushed_authorization_requests: { type: 'boolean' },
    code_challenge_methods_supported: { type: 'array', items: { type: 'string' } },
    response_types_supported: { type: 'array', items: { type: 'string' } },
    jwks_uri: { type: 'string', format: 'uri' },
    grant_types_supported: { type: 'array', items: { type: 'string' } },
    dpop_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
    'pre-authorized_grant_anonymous_access_supported': { type: 'boolean' },
    token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    authorization_response_iss_parameter_supported: { type: 'boolean' },
  },
};

/**
 * RFC 6749 §5.1, RFC 9449 §5, with RFC 9396 authorization_details after a request that used them, and a
 * refresh token for offers whose issuance can be deferred (ADR 18).
 */
export const TOKEN_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['access_token', 'token_type'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
    expires_in: { type: 'integer' },
    refresh_token: {
      type: 'string',
      description: 'deferred (approval) offers only; single use: every refresh returns the next one',
    },
    scope: { type: 'string', description: 'the granted scope, when a refresh request named one' },
    authorization_details: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          type: { type: 'string', enum: ['openid_credential'] },
          credential_configuration_id: { type: 'string' },
          credential_identifiers: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

/** RFC 9126 §2.2. */
export const PUSHED_AUTHORIZATION_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['request_uri', 'expires_in'],
  properties: {
    request_uri: { type: 'string', pattern: '^urn:ietf:params:oauth:request_uri:' },
    expires_in: { type: 'integer' },
  },
};
