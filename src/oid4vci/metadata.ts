import {
  authorizationCodeGrantIdentifier,
  PkceCodeChallengeMethod,
  preAuthorizedCodeGrantIdentifier,
  refreshTokenGrantIdentifier,
} from '@openid4vc/oauth2';
import { HOLDER_KEY_ALGORITHMS, type Catalogue, type CredentialFormat, type LicenceType } from '../credentials/index.js';
import { MAX_PROOFS_PER_REQUEST } from './lifetimes.js';
import { HOLDER_BINDING_METHODS } from './proofs.js';

/** Where the endpoints are, below the credential issuer's (and authorization server's) public URL. */
export const OID4VCI_ENDPOINTS = {
  token: '/oid4vci/token',
  authorize: '/oid4vci/authorize',
  par: '/oid4vci/par',
  jwks: '/.well-known/jwks.json',
  credential: '/oid4vci/credential',
  nonce: '/oid4vci/nonce',
  deferred: '/oid4vci/deferred',
  notification: '/oid4vci/notification',
  offers: '/oid4vci/offers',
} as const;

/** RFC 8414 metadata of our authorization server: PAR required, PKCE S256, both grants and refresh (ADR 18), ES256 DPoP. */
export function authorizationServerMetadataFor(base: string) {
  return {
    issuer: base,
    token_endpoint: base + OID4VCI_ENDPOINTS.token,
    authorization_endpoint: base + OID4VCI_ENDPOINTS.authorize,
    pushed_authorization_request_endpoint: base + OID4VCI_ENDPOINTS.par,
    require_pushed_authorization_requests: true,
    code_challenge_methods_supported: [PkceCodeChallengeMethod.S256],
    response_types_supported: ['code'],
    jwks_uri: base + OID4VCI_ENDPOINTS.jwks,
    grant_types_supported: [preAuthorizedCodeGrantIdentifier, authorizationCodeGrantIdentifier, refreshTokenGrantIdentifier],
    dpop_signing_alg_values_supported: [...HOLDER_KEY_ALGORITHMS],
    'pre-authorized_grant_anonymous_access_supported': true,
    // Wallets are public clients (PKCE, DPoP): no client authentication at the token endpoint (RFC 8414 §2: absent
    // would mean client_secret_basic).
    token_endpoint_auth_methods_supported: ['none'],
    // Authorization responses carry `iss` (RFC 9207 §2.3: a server that sends it says so).
    authorization_response_iss_parameter_supported: true,
  };
}

/** OID4VCI 1.0 §12.2 credential issuer metadata: one issuer for every agency, configurations from the catalogue. */
export function credentialIssuerMetadataFor(base: string, catalogue: Catalogue) {
  return {
    credential_issuer: base,
    authorization_servers: [base],
    credential_endpoint: base + OID4VCI_ENDPOINTS.credential,
    nonce_endpoint: base + OID4VCI_ENDPOINTS.nonce,
    deferred_credential_endpoint: base + OID4VCI_ENDPOINTS.deferred,
    notification_endpoint: base + OID4VCI_ENDPOINTS.notification,
    display: [
      { name: 'Chancery 电子证照签发服务', locale: 'zh-CN' },
      { name: 'Chancery e-licence issuer', locale: 'en' },
    ],
    batch_credential_issuance: { batch_size: MAX_PROOFS_PER_REQUEST },
    credential_configurations_supported: credentialConfigurations(catalogue),
  };
}

const FORMAT_SUFFIX: Record<CredentialFormat, string> = { 'dc+sd-jwt': 'sd_jwt', jwt_vc_json: 'jwt_vc' };

/** Credential configuration ids are `<catalogue type>.<sd_jwt|jwt_vc>`, e.g. `driving-licence.sd_jwt`. */
export const configurationId = (typeId: string, format: CredentialFormat): string => `${typeId}.${FORMAT_SUFFIX[format]}`;

export function parseConfigurationId(id: string): { typeId: string; format: CredentialFormat } | undefined {
  const [typeId, suffix] = id.split('.');
  const format = (Object.keys(FORMAT_SUFFIX) as CredentialFormat[]).find((candidate) => FORMAT_SUFFIX[candidate] === suffix);
  return typeId && format ? { typeId, format } : undefined;
}

function display(type: LicenceType) {
  return (['zh-CN', 'en'] as const).map((locale) => ({
    name: type.display[locale].name,
    description: type.display[locale].description,
    locale,
  }));
}

function claims(type: LicenceType, prefix: string[]) {
  return Object.entries(type.claims.properties).map(([name, schema]) => {
    const [en, zh] = String(schema['title'] ?? name).split(' / ');
    return {
      path: [...prefix, name],
      mandatory: type.claims.required.includes(name),
      display: [
        { name: zh ?? en, locale: 'zh-CN' },
        { name: en, locale: 'en' },
      ],
    };
  });
}

/** What `credentialConfigurations` made, per catalogue, for the revision it was made from. */
const configurationsMade = new WeakMap<
  Catalogue,
  { revision: number; configurations: Record<string, Record<string, unknown>> }
>();

/**
 * OID4VCI 1.0 `credential_configurations_supported`, generated from the licence catalogue: once per catalogue
 * revision (the metadata endpoint, the token, authorize and credential paths all ask), frozen, since every
 * caller shares it.
 */
export function credentialConfigurations(catalogue: Catalogue): Readonly<Record<string, Record<string, unknown>>> {
  const made = configurationsMade.get(catalogue);
  if (made?.revision === catalogue.revision) return made.configurations;
  const configurations = deepFreeze(makeConfigurations(catalogue));
  configurationsMade.set(catalogue, { revision: catalogue.revision, configurations });
  return configurations;
}

/** Freezes a JSON-like value all the way down (metadata shared by every request must not be changed by one). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

function makeConfigurations(catalogue: Catalogue): Record<string, Record<string, unknown>> {
  const configurations: Record<string, Record<string, unknown>> = {};
  for (const type of catalogue.list()) {
    const common = {
      scope: type.id,
      // Holder keys: exactly what checkKeyProof accepts, from the same constants.
      cryptographic_binding_methods_supported: [...HOLDER_BINDING_METHODS],
      credential_signing_alg_values_supported: ['ES256'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: [...HOLDER_KEY_ALGORITHMS] } },
    };
    if (type.formats.includes('dc+sd-jwt')) {
      configurations[configurationId(type.id, 'dc+sd-jwt')] = {
        format: 'dc+sd-jwt',
        vct: type.vct,
        ...common,
        credential_metadata: { display: display(type), claims: claims(type, []) },
      };
    }
    if (type.formats.includes('jwt_vc_json')) {
      configurations[configurationId(type.id, 'jwt_vc_json')] = {
        format: 'jwt_vc_json',
        credential_definition: { type: [...new Set(['VerifiableCredential', type.vcType])] },
        ...common,
        credential_metadata: { display: display(type), claims: claims(type, ['credentialSubject']) },
      };
    }
  }
  return configurations;
}
