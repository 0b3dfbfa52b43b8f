import { Module } from '@nestjs/common';
import { RelyingPartyAdminController } from './relying-party.controller.js';
import { RelyingPartyGuard } from './relying-party.guard.js';
import { RelyingPartyRepository } from './relying-party.repository.js';
import { RelyingPartyService } from './relying-party.service.js';

/** Relying parties: registration, API keys and the rpk_ guard used by the presentation endpoints. */
@Module({
  controllers: [RelyingPartyAdminController],
  providers: [RelyingPartyRepository, RelyingPartyService, RelyingPartyGuard],
  exports: [RelyingPartyService, RelyingPartyGuard],
})
export class RelyingPartiesModule {}
