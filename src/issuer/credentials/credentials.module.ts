import { Module } from '@nestjs/common';
import { AuthorisationService } from './authorisation.service.js';
import { AuthorisationController, CredentialStatusController, IssuanceController } from './credential.controller.js';
import { CredentialRepository } from './credential.repository.js';
import { IssuanceService } from './issuance.service.js';

@Module({
  controllers: [IssuanceController, CredentialStatusController, AuthorisationController],
  providers: [CredentialRepository, AuthorisationService, IssuanceService],
  exports: [IssuanceService, AuthorisationService, CredentialRepository],
})
export class IssuanceModule {}
