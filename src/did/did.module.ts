import { Module, type DynamicModule } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { DidController } from './did.controller.js';
import { DID_CACHE_OPTIONS, DidResolverService, type DidCacheOptions } from './did-resolver.service.js';

@Module({})
export class DidModule {
  static forRoot(options: { cacheTtlSeconds: number }): DynamicModule {
    return {
      module: DidModule,
      global: true,
      controllers: [DidController],
      providers: [
        {
          provide: DID_CACHE_OPTIONS,
          useFactory: (config: AppConfig): DidCacheOptions => ({
            ttlSeconds: options.cacheTtlSeconds,
            maxEntries: config.didCacheMaxEntries,
          }),
          inject: [APP_CONFIG],
        },
        DidResolverService,
      ],
      exports: [DidResolverService],
    };
  }
}
