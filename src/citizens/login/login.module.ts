import { Module } from '@nestjs/common';
import { PresentationModule } from '../../verifier/index.js';
import { CitizenLoginService } from './citizen-login.service.js';
import { CitizenLoginController, OidcClientsController } from './login.controllers.js';
import { CitizenLoginRepository } from './login.repository.js';
import { OidcClientsService } from './oidc-clients.service.js';
import { OpenIdProvider } from './openid-provider.js';
import { OidcClientRepository, OidcRecordRepository } from './provider-records.repository.js';
import { VerifierPresentationsAdapter } from './verifier-presentations.adapter.js';
import { WALLET_PRESENTATIONS } from './wallet-presentations.js';

/** Wallet login for ordinary web applications: Chancery as an OpenID Provider under /oidc (ADR 13). */
@Module({
  imports: [PresentationModule],
  controllers: [OidcClientsController, CitizenLoginController],
  providers: [
    OidcClientRepository,
    OidcRecordRepository,
    CitizenLoginRepository,
    OpenIdProvider,
    OidcClientsService,
    CitizenLoginService,
    { provide: WALLET_PRESENTATIONS, useClass: VerifierPresentationsAdapter },
  ],
  exports: [OpenIdProvider],
})
export class CitizenLoginModule {}
