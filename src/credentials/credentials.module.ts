import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { projectRoot } from '../common/index.js';
import { Catalogue, readSeedDefinitions } from './catalogue.js';
import { CatalogueRepository } from './catalogue.repository.js';
import { CatalogueService } from './catalogue.service.js';

/**
 * Provides the licence catalogue: the table of the run-time catalogue, seeded from catalogue/*.json on
 * first start, loaded before any module gets it, kept current by CatalogueService.
 */
@Global()
@Module({
  providers: [
    CatalogueRepository,
    {
      provide: Catalogue,
      inject: [APP_CONFIG, CatalogueRepository],
      useFactory: async (config: AppConfig, repository: CatalogueRepository) => {
        await repository.seed(readSeedDefinitions(join(projectRoot(), 'catalogue')));
        return new Catalogue(await repository.load(), config.chain.consortium.vctBaseUrl ?? publicBaseUrl(config));
      },
    },
    CatalogueService,
  ],
  exports: [Catalogue, CatalogueService],
})
export class CredentialsModule {}
