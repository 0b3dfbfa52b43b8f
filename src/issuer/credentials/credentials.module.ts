import { Module } from '@nestjs/common';
import { AuthorisationService } from './authorisation.service.js';
import { AuthorisationController, CredentialStatusController, IssuanceController } from './credential.controller.js';
import { CredentialRepository } from './credential.repository.js';
import { IssuanceService } from './issuance.service.js';
import { CatalogueController } from '../catalogue/catalogue.controller.js';
import { CatalogueAdministration } from '../catalogue/catalogue-administration.js';
import { IdempotencyRepository } from '../../persistence/index.js';
import { IdempotencyService } from '../idempotency.js';

@Module({
  controllers: [IssuanceController, CredentialStatusController, AuthorisationController, CatalogueController],
  providers: [
    CatalogueAdministration,
    CredentialRepository,
    AuthorisationService,
    IssuanceService,
    IdempotencyRepository,
    IdempotencyService,
  ],
  exports: [IssuanceService, AuthorisationService, CredentialRepository, IdempotencyService],
})
export class IssuanceModule {}
