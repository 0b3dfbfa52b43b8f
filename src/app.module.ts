import { Module, type DynamicModule } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ConfigModule, type AppConfig } from './config/index.js';
import { PlatformModule } from './common/index.js';
import { PersistenceModule } from './persistence/index.js';
import { KeysModule, type KeyBackend } from './keys/index.js';
import { ChainModule, type ChainClient, type ChainOptions } from './chain/index.js';
import { DidModule } from './did/index.js';
import { AgenciesModule, ConsortiumModule, IssuanceModule, Oid4vciIssuerModule } from './issuer/index.js';
import { CredentialsModule } from './credentials/index.js';
import { PresentationModule, VerifierModule } from './verifier/index.js';
import { StatusModule } from './status/index.js';
import { HealthModule } from './health/index.js';
import { CitizenLoginModule, CitizenRecordsModule } from './citizens/index.js';
import { AuditModule } from './audit/index.js';

export interface AppParts {
  config: AppConfig;
  dataSource: DataSource;
  keyBackend: KeyBackend;
  chain: ChainClient;
  chainOptions: ChainOptions;
  operatorApiKey: string;
}

@Module({})
export class AppModule {
  static forRoot(parts: AppParts): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(parts.config),
        PlatformModule.forRoot({
          perMinute: parts.config.platform.rateLimitPerMinute,
          perResourcePerMinute: parts.config.platform.rateLimitPerResourcePerMinute,
          redisUrl: parts.config.platform.redisUrl,
          keyPrefix: parts.config.platform.rateLimitKeyPrefix,
        }),
        PersistenceModule.forRoot(parts.dataSource),
        KeysModule.forRoot(parts.keyBackend),
        ChainModule.forRoot(parts.chain, parts.chainOptions),
        DidModule.forRoot({ cacheTtlSeconds: parts.config.didCacheTtlSeconds }),
        AuditModule,
        CredentialsModule,
        StatusModule,
        AgenciesModule.forRoot({ operatorApiKey: parts.operatorApiKey }),
        IssuanceModule,
        Oid4vciIssuerModule,
        ConsortiumModule,
        VerifierModule,
        PresentationModule,
        HealthModule,
        CitizenLoginModule,
        CitizenRecordsModule,
      ],
    };
  }
}
