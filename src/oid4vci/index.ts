export {
  credentialConfigurations,
  deepFreeze,
  configurationId,
  parseConfigurationId,
  authorizationServerMetadataFor,
  credentialIssuerMetadataFor,
  OID4VCI_ENDPOINTS,
} from './metadata.js';
export { checkKeyProof, HOLDER_BINDING_METHODS, KEY_PROOF_TYP, repeatedProofKeyProblem } from './proofs.js';
export {
  NONCE_TTL_SECONDS,
  PAR_TTL_SECONDS,
  LOGIN_TTL_SECONDS,
  CODE_TTL_SECONDS,
  DEFERRED_INTERVAL_SECONDS,
  MAX_CODE_FAILURES,
  MAX_PROOFS_PER_REQUEST,
} from './lifetimes.js';
export {
  offerCodeHash,
  offerCodeMatches,
  offerGrants,
  preAuthorizedGrantProblem,
  codeAttempt,
  pinAttemptError,
  type GrantOffer,
  type CodeAttempt,
} from './pre-authorized-grant.js';
export {
  authorizationCodeGrantProblem,
  pkceS256Matches,
  type CodeSession,
  type CodeTokenRequest,
} from './authorization-code-grant.js';
export {
  dpopJktProblem,
  checkPushedAuthorizationRequest,
  authorizationDetailsConfigurations,
  pushedRequestOfferProblem,
  authorizeParametersProblem,
  pushedSessionProblem,
  authorizationResponseUrl,
  PAR_FIELD_LIMITS,
  type CheckedPushedRequest,
} from './authorization-request.js';
export {
  requestedCredential,
  withoutSupersededProof,
  requestedConfiguration,
  alreadyIssuedProblem,
  alreadyIssued,
  jwtProofs,
  invalidNonce,
  issuanceStep,
  grantedCredentialIdentifiers,
  tokenAuthorizationDetails,
  type RequestedCredential,
  refuseResponseEncryption,
} from './credential-request.js';
export {
  deferredTransactionProblem,
  deferredCompleted,
  deferredReady,
  deferredFinishesOffer,
  deniedProblem,
} from './deferred.js';
export {
  issuesRefreshToken,
  refreshFamilyExpiry,
  refreshGrantProblem,
  refreshBindingProblem,
  refreshClientProblem,
  refreshScopeProblem,
  REFRESH_RETRY_GRACE_SECONDS,
  type RefreshTokenStatus,
  type StoredRefreshToken,
} from './refresh-token.js';
export { tokenRequestClientId } from './client-id.js';
export { redeliveryStep, type DeliveredResponse, type IssuedTransaction } from './redelivery.js';
export {
  parseNotification,
  laterNotification,
  NOTIFICATION_EVENTS,
  type Notification,
  type NotificationEvent,
} from './notification.js';
