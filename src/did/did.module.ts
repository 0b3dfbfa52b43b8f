import { Module, type DynamicModule } from '@nestjs/common';
import { DidController } from './did.controller.js';
import { DID_CACHE_TTL_SECONDS, DidResolverService } from './did-resolver.service.js';

@Module({})
export class DidModule {
  static forRoot(options: { cacheTtlSeconds: number }): DynamicModule {
    return {
      module: DidModule,
      global: true,
      controllers: [DidController],
      providers: [{ provide: DID_CACHE_TTL_SECONDS, useValue: options.cacheTtlSeconds }, DidResolverService],
      exports: [DidResolverService],
    };
  }
}
