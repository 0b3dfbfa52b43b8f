import { CreateFoundation1764000000000 } from './1764000000000-CreateFoundation.js';
import { CredentialIssuance1764100000000 } from './1764100000000-CredentialIssuance.js';
import { StatusLists1764200000000 } from './1764200000000-StatusLists.js';
import { Oid4vci1764300000000 } from './1764300000000-Oid4vci.js';
import { Oid4vp1764400000000 } from './1764400000000-Oid4vp.js';
import { Oid4vciHardening1765100000000 } from './1765100000000-Oid4vciHardening.js';
import { Oid4vpHardening1765300000000 } from './1765300000000-Oid4vpHardening.js';
import { ReplicaLeases1765500000000 } from './1765500000000-ReplicaLeases.js';
import { StatusLeaseIdempotency1765600000000 } from './1765600000000-StatusLeaseIdempotency.js';
import { CitizenLogin1766170000000 } from './1766170000000-CitizenLogin.js';
import { CredentialCatalogue1766300000000 } from './1766300000000-CredentialCatalogue.js';
import { StatusIndexBlocks1766300000000 } from './1766300000000-StatusIndexBlocks.js';
import { NonceDigests1766400000000 } from './1766400000000-NonceDigests.js';
import { Consortium1766400000000 } from './1766400000000-Consortium.js';
import { AuditTrail1766300000000 } from './1766300000000-AuditTrail.js';
import { JointApproval1766500000000 } from './1766500000000-JointApproval.js';
import { Oid4vciRefresh1766600000000 } from './1766600000000-Oid4vciRefresh.js';
import { JointApprovalLeftovers1766700000000 } from './1766700000000-JointApprovalLeftovers.js';
import { AuditPending1766800000000 } from './1766800000000-AuditPending.js';
import { StatusPublicationNotify1766900000000 } from './1766900000000-StatusPublicationNotify.js';
import { AgencyKeyNotify1767000000000 } from './1767000000000-AgencyKeyNotify.js';
import { DropIssuedDigestIndex1767100000000 } from './1767100000000-DropIssuedDigestIndex.js';
import { PresentationRequestPurpose1767200000000 } from './1767200000000-PresentationRequestPurpose.js';
import { CitizenLoginGrant1767300000000 } from './1767300000000-CitizenLoginGrant.js';
import { PresentationRequestPurgedIndex1767400000000 } from './1767400000000-PresentationRequestPurgedIndex.js';
import { StatusEntriesFlaggedIndex1767500000000 } from './1767500000000-StatusEntriesFlaggedIndex.js';
import { AuthorisationNotify1767600000000 } from './1767600000000-AuthorisationNotify.js';
import { RsaIdTokens1767700000000 } from './1767700000000-RsaIdTokens.js';
import { OutboxChainNumbers64Bit1767800000000 } from './1767800000000-OutboxChainNumbers64Bit.js';
import { ApplicationApplicant1767900000000 } from './1767900000000-ApplicationApplicant.js';
import { ForgetHolderThumbprints1768000000000 } from './1768000000000-ForgetHolderThumbprints.js';
import { ForgetDecidedApplicants1768100000000 } from './1768100000000-ForgetDecidedApplicants.js';
import { RefreshTokenClient1768200000000 } from './1768200000000-RefreshTokenClient.js';

/** Every migration, oldest first. New migrations are appended here. */
export const migrations = [
  CreateFoundation1764000000000,
  CredentialIssuance1764100000000,
  StatusLists1764200000000,
  Oid4vci1764300000000,
  Oid4vp1764400000000,
  Oid4vciHardening1765100000000,
  Oid4vpHardening1765300000000,
  ReplicaLeases1765500000000,
  StatusLeaseIdempotency1765600000000,
  CitizenLogin1766170000000,
  CredentialCatalogue1766300000000,
  StatusIndexBlocks1766300000000,
  NonceDigests1766400000000,
  Consortium1766400000000,
  AuditTrail1766300000000,
  JointApproval1766500000000,
  Oid4vciRefresh1766600000000,
  JointApprovalLeftovers1766700000000,
  AuditPending1766800000000,
  StatusPublicationNotify1766900000000,
  AgencyKeyNotify1767000000000,
  DropIssuedDigestIndex1767100000000,
  PresentationRequestPurpose1767200000000,
  CitizenLoginGrant1767300000000,
  PresentationRequestPurgedIndex1767400000000,
  StatusEntriesFlaggedIndex1767500000000,
  AuthorisationNotify1767600000000,
  RsaIdTokens1767700000000,
  OutboxChainNumbers64Bit1767800000000,
  ApplicationApplicant1767900000000,
  ForgetHolderThumbprints1768000000000,
  ForgetDecidedApplicants1768100000000,
  RefreshTokenClient1768200000000,
];
