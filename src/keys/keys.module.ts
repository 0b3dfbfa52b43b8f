import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { KeyBackend } from './key-backend.js';
import { KEY_BACKEND, KeyService } from './key.service.js';
import { KeyRepository } from './key.repository.js';
import { SealedSecrets } from './sealed-secrets.js';
import { HmacKeys } from './hmac-keys.js';
import { HmacKeyRepository } from './hmac-key.repository.js';

@Global()
@Module({})
export class KeysModule {
  static forRoot(backend: KeyBackend): DynamicModule {
    return {
      module: KeysModule,
      providers: [
        { provide: KEY_BACKEND, useValue: backend },
        KeyRepository,
        KeyService,
        SealedSecrets,
        HmacKeyRepository,
        HmacKeys,
      ],
      exports: [KeyService, SealedSecrets, HmacKeys],
    };
  }
}
