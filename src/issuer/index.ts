export { AgenciesModule } from './agencies/agencies.module.js';
export { ConsortiumModule } from './consortium/consortium.module.js';
export { AgencyService } from './agencies/agency.service.js';
export type { AgencyView } from './agencies/agency.schemas.js';
export { AgencyRepository, type Agency } from './agencies/agency.repository.js';
export { AgencyEntity, AgencyApiKeyEntity } from './agencies/agency.entity.js';
export { AgencyGuard, OperatorGuard, CurrentAgency } from './agencies/auth.js';
export { resolveOperatorKey, seedDemoAgency, DemoCredentialsFile, DEMO_AGENCY_SLUG } from './agencies/demo.js';
export { IssuanceModule } from './credentials/credentials.module.js';
export { IssuanceService, type IssuedCredential, type IssueOptions } from './credentials/issuance.service.js';
export { AuthorisationService } from './credentials/authorisation.service.js';
export { AgencyAuthorisationEntity, IssuedCredentialEntity } from './credentials/credential.entity.js';
export { Oid4vciIssuerModule } from './oid4vci/oid4vci.module.js';
export { Oid4vciPurge } from './oid4vci/purge.js';
export { CredentialOfferEntity } from './offers/offer.entity.js';
export { OfferRepository } from './offers/offer.repository.js';
export { AuthorizationSessionEntity } from './authorization-server/authorization-session.entity.js';
export { Oid4vciTokenKeyEntity } from './authorization-server/token-key.entity.js';
export { Oid4vciRefreshTokenEntity } from './authorization-server/refresh-token.entity.js';
export { TokenKeys } from './authorization-server/token-keys.js';
export { TokenService } from './authorization-server/token.service.js';
export {
  Oid4vciNonceEntity,
  Oid4vciNotificationEntity,
  DeferredRequestEntity,
} from './credential-endpoint/credential-endpoint.entity.js';
export {
  ApprovalApplicationEntity,
  ApprovalStepEntity,
  ApprovalInboxCursorEntity,
  ApprovalInboxEntity,
  ApprovalWalletRequestEntity,
} from './approvals/approval.entity.js';
