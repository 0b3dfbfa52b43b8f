import { Module } from '@nestjs/common';
import { PresentationController, RelyingPartyAdminController, RelyingPartyGuard } from './presentation.controller.js';
import { PresentationService } from './presentation.service.js';
import { RelyingPartyRepository } from './relying-party.repository.js';
import { VerifierModule } from '../verifier.module.js';

@Module({
  imports: [VerifierModule],
  controllers: [RelyingPartyAdminController, PresentationController],
  providers: [RelyingPartyRepository, PresentationService, RelyingPartyGuard],
  exports: [PresentationService],
})
export class PresentationModule {}
