export { oid4vcCallbacks, allowHttpOutsideProduction, type Oid4vcCallbacks, type OwnJwtSigner } from './callbacks.js';
export { credentialConfigurations, configurationId, parseConfigurationId } from './metadata.js';
