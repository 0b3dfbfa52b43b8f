import { Module } from '@nestjs/common';
import { IssuanceModule } from '../credentials/credentials.module.js';
import { OfferRepository } from './offer.repository.js';
import { TokenKeyRepository } from './token-key.repository.js';
import { TokenKeys } from './token-keys.js';
import { OfferController, Oid4vciController } from './oid4vci.controller.js';
import { Oid4vciService } from './oid4vci.service.js';
import { CITIZEN_AUTHENTICATOR, LoginCodeAuthenticator } from './citizen-authenticator.js';

@Module({
  imports: [IssuanceModule],
  controllers: [Oid4vciController, OfferController],
  providers: [
    OfferRepository,
    TokenKeyRepository,
    TokenKeys,
    Oid4vciService,
    { provide: CITIZEN_AUTHENTICATOR, useClass: LoginCodeAuthenticator },
  ],
})
export class Oid4vciIssuerModule {}
