import { Module } from '@nestjs/common';
import { RelyingPartiesModule } from '../relying-parties/relying-parties.module.js';
import { VerifierModule } from '../verifier.module.js';
import { PresentationController } from './presentation.controller.js';
import { PresentationRequestRepository } from './presentation-request.repository.js';
import { PresentationRequestService } from './presentation-request.service.js';
import { PresentationResponseService } from './presentation-response.service.js';
import { PresentationRetention } from './presentation-retention.js';
import { PresentationAudit } from './presentation-audit.js';
import { PresentationSeals } from './presentation-seals.js';
import { VerdictDeliveryService } from './verdict-delivery.service.js';

/**
 * OpenID4VP for relying parties: relying parties (registration, API keys), presentation requests,
 * responses, verdict delivery and retention.
 */
@Module({
  imports: [VerifierModule, RelyingPartiesModule],
  controllers: [PresentationController],
  providers: [
    PresentationRequestRepository,
    PresentationSeals,
    PresentationRequestService,
    PresentationResponseService,
    VerdictDeliveryService,
    PresentationRetention,
    PresentationAudit,
  ],
  // The citizens' wallet login (src/citizens/login) makes its requests through these.
  exports: [RelyingPartiesModule, PresentationRequestService, VerdictDeliveryService],
})
export class PresentationModule {}
