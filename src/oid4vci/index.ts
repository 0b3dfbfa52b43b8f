export { oid4vcCallbacks, type Oid4vcCallbacks, type OwnJwtSigner } from './callbacks.js';
export { credentialConfigurations, configurationId, parseConfigurationId } from './metadata.js';
