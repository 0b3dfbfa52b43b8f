import { HOLDER_KEY_ALGORITHMS, type Catalogue, type CredentialFormat, type LicenceType } from '../credentials/index.js';
import { HOLDER_BINDING_METHODS } from './proofs.js';

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

/** OID4VCI 1.0 `credential_configurations_supported`, generated from the licence catalogue. */
export function credentialConfigurations(catalogue: Catalogue): Record<string, Record<string, unknown>> {
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
        credential_definition: { type: ['VerifiableCredential', type.vcType] },
        ...common,
        credential_metadata: { display: display(type), claims: claims(type, ['credentialSubject']) },
      };
    }
  }
  return configurations;
}
