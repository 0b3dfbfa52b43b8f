/** OpenAPI response schemas of the offer routes. */

export const CREATED_OFFER_SCHEMA = {
  type: 'object',
  required: ['offerId', 'credentialOffer', 'expiresAt', 'qr'],
  properties: {
    offerId: { type: 'string', format: 'uuid' },
    credentialOffer: {
      type: 'string',
      description: 'openid-credential-offer:// link (by value, or naming credential_offer_uri)',
    },
    credentialOfferUri: { type: 'string', format: 'uri', description: 'when byReference' },
    txCode: {
      type: 'string',
      pattern: '^\\d{6}$',
      description: 'pre-authorized flow with a PIN: hand it to the citizen out of band',
    },
    loginCode: { type: 'string', pattern: '^\\d{6}$', description: 'authorization code flow: the citizen signs in with it' },
    expiresAt: { type: 'string', format: 'date-time' },
    qr: {
      type: 'object',
      required: ['png', 'svg'],
      properties: {
        png: { type: 'string', description: 'data:image/png;base64 URL' },
        svg: { type: 'string', description: 'SVG document' },
      },
    },
  },
};

export const APPROVED_SCHEMA = {
  type: 'object',
  required: ['approved'],
  properties: { approved: { type: 'boolean', enum: [true] } },
};

/** OID4VCI 1.0 §4.1.1 credential offer object. */
export const CREDENTIAL_OFFER_SCHEMA = {
  type: 'object',
  required: ['credential_issuer', 'credential_configuration_ids'],
  properties: {
    credential_issuer: { type: 'string', format: 'uri' },
    credential_configuration_ids: { type: 'array', items: { type: 'string' } },
    grants: {
      type: 'object',
      properties: {
        'urn:ietf:params:oauth:grant-type:pre-authorized_code': {
          type: 'object',
          required: ['pre-authorized_code'],
          properties: {
            'pre-authorized_code': { type: 'string' },
            tx_code: {
              type: 'object',
              properties: {
                input_mode: { type: 'string', enum: ['numeric', 'text'] },
                length: { type: 'integer' },
                description: { type: 'string' },
              },
            },
          },
        },
        authorization_code: { type: 'object', properties: { issuer_state: { type: 'string' } } },
      },
    },
  },
};
