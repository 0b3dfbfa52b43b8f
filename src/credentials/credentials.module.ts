import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { projectRoot } from '../common/index.js';
import { Catalogue } from './catalogue.js';

/** Provides the licence catalogue, loaded once from catalogue/*.json. */
@Global()
@Module({
  providers: [
    {
      provide: Catalogue,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        Catalogue.load(
          join(projectRoot(), 'catalogue'),
          // One vct namespace for the consortium (ADR 15); our own public URL when unset.
          config.chain.consortium.vctBaseUrl ?? publicBaseUrl(config),
        ),
    },
  ],
  exports: [Catalogue],
})
export class CredentialsModule {}
