/** OpenAPI response schemas of the credential issuer's routes. */

/** OID4VCI 1.0 §12.2.4 (abridged: the members we send). */
export const CREDENTIAL_ISSUER_METADATA_SCHEMA = {
  type: 'object',
  required: ['credential_issuer', 'credential_endpoint', 'credential_configurations_supported'],
  properties: {
    credential_issuer: { type: 'string', format: 'uri' },
    authorization_servers: { type: 'array', items: { type: 'string', format: 'uri' } },
    credential_endpoint: { type: 'string', format: 'uri' },
    nonce_endpoint: { type: 'string', format: 'uri' },
    deferred_credential_endpoint: { type: 'string', format: 'uri' },
    notification_endpoint: { type: 'string', format: 'uri' },
    display: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, locale: { type: 'string' } } },
    },
    batch_credential_issuance: { type: 'object', properties: { batch_size: { type: 'integer' } } },
    credential_configurations_supported: {
      type: 'object',
      description: '`<catalogue type>.sd_jwt` (dc+sd-jwt) and `<catalogue type>.jwt_vc` (jwt_vc_json)',
      additionalProperties: {
        type: 'object',
        required: ['format'],
        properties: {
          format: { type: 'string', enum: ['dc+sd-jwt', 'jwt_vc_json'] },
          scope: { type: 'string' },
          vct: { type: 'string' },
          credential_definition: { type: 'object' },
          cryptographic_binding_methods_supported: { type: 'array', items: { type: 'string' } },
          credential_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
          proof_types_supported: { type: 'object' },
          credential_metadata: { type: 'object' },
        },
      },
    },
  },
};

/** OID4VCI 1.0 §7.2. */
export const NONCE_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['c_nonce'],
  properties: { c_nonce: { type: 'string' }, c_nonce_expires_in: { type: 'integer' } },
};

const CREDENTIALS = {
  type: 'array',
  items: { type: 'object', required: ['credential'], properties: { credential: { type: 'string' } } },
  description: 'one per key proof',
};

/** OID4VCI 1.0 §8.3: the credentials (200), or a transaction_id to poll (202). */
export const CREDENTIAL_RESPONSE_SCHEMA = {
  type: 'object',
  properties: { credentials: CREDENTIALS, notification_id: { type: 'string' } },
};

/** OID4VCI 1.0 §8.3 / §9.2 while an officer has not approved. */
export const DEFERRED_PENDING_SCHEMA = {
  type: 'object',
  required: ['transaction_id', 'interval'],
  properties: {
    transaction_id: { type: 'string' },
    interval: { type: 'integer', description: 'seconds between polls' },
    application: {
      type: 'object',
      description:
        'Credential endpoint, joint-approval applications only (issue 16): GET status_uri with Authorization: Bearer read_token',
      required: ['reference', 'status_uri', 'read_token'],
      properties: { reference: { type: 'string' }, status_uri: { type: 'string' }, read_token: { type: 'string' } },
    },
  },
};

/** OID4VCI 1.0 §9.2 once approved; the same response again on a repeated poll until the wallet notifies (ADR 18). */
export const DEFERRED_CREDENTIAL_SCHEMA = {
  type: 'object',
  required: ['credentials'],
  properties: {
    credentials: CREDENTIALS,
    notification_id: { type: 'string', description: 'only with OID4VCI_DEFERRED_NOTIFICATION_ID=true' },
  },
};
