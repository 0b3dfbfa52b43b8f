import { HmacKeyEntity, KeyEntity } from './keys/index.js';
import { CredentialTypeEntity, CredentialTypeVersionEntity } from './credentials/index.js';
import {
  AuditAnchorEntity,
  AuditEntryEntity,
  AuditHeadEntity,
  AuditPendingEntity,
  CredentialUsageEntity,
} from './audit/index.js';
import { IdempotencyRecordEntity } from './persistence/index.js';
import { PresentationRequestEntity, RelyingPartyApiKeyEntity, RelyingPartyEntity } from './verifier/index.js';
import {
  StatusAuditEntity,
  StatusEntryEntity,
  StatusIndexBlockEntity,
  StatusListEntity,
  StatusPublicationEntity,
} from './status/index.js';
import { ChainContractEntity, JobLeaseEntity, OutboxEntity } from './chain/index.js';
import {
  AgencyApiKeyEntity,
  AgencyAuthorisationEntity,
  AgencyEntity,
  CredentialOfferEntity,
  IssuedCredentialEntity,
  Oid4vciNonceEntity,
  Oid4vciNotificationEntity,
  AuthorizationSessionEntity,
  DeferredRequestEntity,
  Oid4vciTokenKeyEntity,
  ApprovalApplicationEntity,
  ApprovalStepEntity,
} from './issuer/index.js';
import {
  CitizenLoginClaimsEntity,
  CitizenLoginEntity,
  CitizenLoginSettingEntity,
  OidcClientEntity,
  OidcRecordEntity,
} from './citizens/index.js';

/** Every TypeORM entity of the service; the schema itself comes from migrations/. */
export const entities = [
  KeyEntity,
  ApprovalApplicationEntity,
  ApprovalStepEntity,
  OutboxEntity,
  ChainContractEntity,
  JobLeaseEntity,
  AgencyEntity,
  AgencyApiKeyEntity,
  AgencyAuthorisationEntity,
  IssuedCredentialEntity,
  StatusListEntity,
  StatusEntryEntity,
  StatusIndexBlockEntity,
  StatusPublicationEntity,
  StatusAuditEntity,
  CredentialOfferEntity,
  Oid4vciNonceEntity,
  Oid4vciNotificationEntity,
  AuthorizationSessionEntity,
  DeferredRequestEntity,
  Oid4vciTokenKeyEntity,
  RelyingPartyEntity,
  RelyingPartyApiKeyEntity,
  PresentationRequestEntity,
  IdempotencyRecordEntity,
  HmacKeyEntity,
  OidcClientEntity,
  OidcRecordEntity,
  CitizenLoginEntity,
  CitizenLoginClaimsEntity,
  CitizenLoginSettingEntity,
  CredentialTypeEntity,
  CredentialTypeVersionEntity,
  AuditEntryEntity,
  AuditHeadEntity,
  AuditPendingEntity,
  AuditAnchorEntity,
  CredentialUsageEntity,
];
