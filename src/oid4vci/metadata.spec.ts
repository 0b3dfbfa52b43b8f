import { join } from 'node:path';
import { projectRoot } from '../common/index.js';
import { Catalogue, HOLDER_KEY_ALGORITHMS } from '../credentials/index.js';
import {
  authorizationServerMetadataFor,
  configurationId,
  credentialConfigurations,
  credentialIssuerMetadataFor,
  parseConfigurationId,
} from './metadata.js';
import { MAX_PROOFS_PER_REQUEST } from './lifetimes.js';
import { HOLDER_BINDING_METHODS } from './proofs.js';

const base = 'https://issuer.example';
const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), base);

describe('OID4VCI metadata', () => {
  it('makes the configurations once per catalogue revision, frozen, and anew after a replace', () => {
    const own = Catalogue.load(join(projectRoot(), 'catalogue'), base);
    const first = credentialConfigurations(own);
    expect(credentialConfigurations(own)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first['driving-licence.sd_jwt']!['credential_metadata'])).toBe(true);
    own.replace(own.all().filter((type) => type.id !== 'driving-licence'));
    const after = credentialConfigurations(own);
    expect(after).not.toBe(first);
    expect(Object.keys(after)).not.toContain('driving-licence.sd_jwt');
    expect(Object.keys(first)).toContain('driving-licence.sd_jwt');
  });

  it('names configurations <type>.<sd_jwt|jwt_vc> and reads them back', () => {
    expect(configurationId('driving-licence', 'dc+sd-jwt')).toBe('driving-licence.sd_jwt');
    expect(configurationId('driving-licence', 'jwt_vc_json')).toBe('driving-licence.jwt_vc');
    expect(parseConfigurationId('driving-licence.jwt_vc')).toEqual({ typeId: 'driving-licence', format: 'jwt_vc_json' });
    for (const bad of ['driving-licence', 'driving-licence.ldp_vc', '.sd_jwt', ''])
      expect(parseConfigurationId(bad)).toBeUndefined();
  });

  it('advertises exactly the holder keys the proof checks accept, for every configuration', () => {
    const configurations = credentialConfigurations(catalogue);
    expect(Object.keys(configurations)).toEqual(expect.arrayContaining(['driving-licence.sd_jwt', 'driving-licence.jwt_vc']));
    for (const configuration of Object.values(configurations)) {
      expect(configuration['cryptographic_binding_methods_supported']).toEqual([...HOLDER_BINDING_METHODS]);
      expect(configuration['proof_types_supported']).toEqual({
        jwt: { proof_signing_alg_values_supported: [...HOLDER_KEY_ALGORITHMS] },
      });
    }
  });

  it('puts every endpoint under the one public URL, with PAR required, PKCE S256 and the batch size', () => {
    const server = authorizationServerMetadataFor(base);
    expect(server).toMatchObject({
      issuer: base,
      token_endpoint: `${base}/oid4vci/token`,
      pushed_authorization_request_endpoint: `${base}/oid4vci/par`,
      require_pushed_authorization_requests: true,
      code_challenge_methods_supported: ['S256'],
      jwks_uri: `${base}/.well-known/jwks.json`,
      dpop_signing_alg_values_supported: [...HOLDER_KEY_ALGORITHMS],
    });
    const issuer = credentialIssuerMetadataFor(base, catalogue);
    expect(issuer).toMatchObject({
      credential_issuer: base,
      authorization_servers: [base],
      nonce_endpoint: `${base}/oid4vci/nonce`,
      batch_credential_issuance: { batch_size: MAX_PROOFS_PER_REQUEST },
    });
    expect(issuer.credential_configurations_supported).toEqual(credentialConfigurations(catalogue));
  });
});
