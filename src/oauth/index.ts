export { oid4vcCallbacks, allowHttpOutsideProduction, type Oid4vcCallbacks, type OwnJwtSigner } from './callbacks.js';
export {
  oauthError,
  safeErrorDescription,
  wwwAuthenticate,
  unauthorizedError,
  insufficientScopeError,
  MAX_ERROR_DESCRIPTION_LENGTH,
  type AuthScheme,
} from './oauth-errors.js';
export { asOAuthError, mapErrors, LIBRARY_DESCRIPTIONS } from './library-errors.js';
export { notFormBody, notJsonBody, requestLike } from './request.js';
export {
  checkDpopProof,
  assertFreshDpop,
  dpopError,
  dpopReplayKey,
  DPOP_PROOF_TYP,
  DPOP_JTI_MARGIN_SECONDS,
  type JtiReplayStore,
} from './dpop.js';
export {
  PROOF_CLOCK_SKEW_SECONDS,
  proofFailure,
  proofIatProblem,
  proofPublicKey,
  strictProofHeader,
  type ProofCheck,
  type ProofLimits,
} from './proof-jws.js';
export { presentedAccessToken, type PresentedToken } from './access-token.js';
