import { Module } from '@nestjs/common';
import { IssuanceModule } from '../credentials/credentials.module.js';
import { AuthorizationServerController } from '../authorization-server/authorization-server.controller.js';
import { AuthorizationService } from '../authorization-server/authorization.service.js';
import { AuthorizationSessionRepository } from '../authorization-server/authorization-session.repository.js';
import { CITIZEN_AUTHENTICATOR, LoginCodeAuthenticator } from '../authorization-server/citizen-authenticator.js';
import { DpopReplayRepository } from '../authorization-server/dpop-replay.repository.js';
import { RefreshTokenRepository } from '../authorization-server/refresh-token.repository.js';
import { TokenKeyRepository } from '../authorization-server/token-key.repository.js';
import { TokenKeys } from '../authorization-server/token-keys.js';
import { TokenService } from '../authorization-server/token.service.js';
import { AccessTokenVerifier } from '../credential-endpoint/access-token.verifier.js';
import { CredentialEndpointController } from '../credential-endpoint/credential-endpoint.controller.js';
import { CredentialService } from '../credential-endpoint/credential.service.js';
import { DeferredRequestRepository } from '../credential-endpoint/deferred.repository.js';
import { DeferredCredentialService } from '../credential-endpoint/deferred.service.js';
import { NonceRepository } from '../credential-endpoint/nonce.repository.js';
import { NotificationRepository } from '../credential-endpoint/notification.repository.js';
import { NotificationService } from '../credential-endpoint/notification.service.js';
import { OfferIssuance } from '../credential-endpoint/offer-issuance.js';
import { CredentialOfferController, OfferController } from '../offers/offer.controller.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { OfferService } from '../offers/offer.service.js';
import {
  AgencyApprovalController,
  ApplicantApprovalController,
  DepartmentApprovalController,
  PeerApprovalController,
} from '../approvals/approval.controller.js';
import { ApprovalRepository } from '../approvals/approval.repository.js';
import { ApprovalService } from '../approvals/approval.service.js';
import { InboxRepository } from '../approvals/inbox.repository.js';
import { DepartmentApprovals } from '../approvals/department-approvals.service.js';
import { WalletApplicationService } from '../approvals/wallet-applications.service.js';
import { WALLET_APPLICATIONS } from '../authorization-server/wallet-applications.js';
import { Oid4vciProtocol } from './protocol.js';
import { Oid4vciPurge } from './purge.js';

/**
 * OpenID4VCI for the whole service, by role: the officer's offers (issuer/offers), the authorization server
 * (issuer/authorization-server: metadata, keys, token, PAR, sign-in) and the credential issuer's endpoints
 * (issuer/credential-endpoint: metadata, nonce, credential, deferred, notification). The protocol rules
 * are plain functions in src/oid4vci; the @openid4vc glue is src/oauth.
 */
@Module({
  imports: [IssuanceModule],
  controllers: [
    OfferController,
    CredentialOfferController,
    AuthorizationServerController,
    CredentialEndpointController,
    // Joint approval (issue 16): its applications are deferred offers, so it lives beside them.
    AgencyApprovalController,
    ApplicantApprovalController,
    DepartmentApprovalController,
    PeerApprovalController,
  ],
  providers: [
    Oid4vciProtocol,
    Oid4vciPurge,
    OfferRepository,
    OfferService,
    AuthorizationSessionRepository,
    DpopReplayRepository,
    TokenKeyRepository,
    TokenKeys,
    RefreshTokenRepository,
    TokenService,
    AuthorizationService,
    { provide: CITIZEN_AUTHENTICATOR, useClass: LoginCodeAuthenticator },
    AccessTokenVerifier,
    NonceRepository,
    DeferredRequestRepository,
    NotificationRepository,
    OfferIssuance,
    CredentialService,
    DeferredCredentialService,
    NotificationService,
    ApprovalRepository,
    InboxRepository,
    ApprovalService,
    DepartmentApprovals,
    WalletApplicationService,
    { provide: WALLET_APPLICATIONS, useExisting: WalletApplicationService },
  ],
})
export class Oid4vciIssuerModule {}
