export { oid4vcCallbacks, allowHttpOutsideProduction, type Oid4vcCallbacks, type OwnJwtSigner } from './callbacks.js';
export { credentialConfigurations, configurationId, parseConfigurationId } from './metadata.js';
export {
  oauthError,
  safeErrorDescription,
  wwwAuthenticate,
  unauthorizedError,
  MAX_ERROR_DESCRIPTION_LENGTH,
  type AuthScheme,
} from './oauth-errors.js';
export {
  checkKeyProof,
  checkDpopProof,
  HOLDER_BINDING_METHODS,
  KEY_PROOF_TYP,
  DPOP_PROOF_TYP,
  PROOF_CLOCK_SKEW_SECONDS,
  type ProofCheck,
  type ProofLimits,
} from './proofs.js';
