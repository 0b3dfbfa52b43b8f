import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { ConfigModule, type AppConfig } from './config/index.js';
import { ProblemFilter } from './common/index.js';
import { PersistenceModule } from './persistence/index.js';
import { KeysModule, type KeyBackend } from './keys/index.js';
import { ChainModule, type ChainClient, type ChainOptions } from './chain/index.js';
import { DidModule } from './did/index.js';
import { AgenciesModule, IssuanceModule, Oid4vciIssuerModule } from './issuer/index.js';
import { CredentialsModule } from './credentials/index.js';
import { PresentationModule, VerifierModule } from './verifier/index.js';
import { StatusModule } from './status/index.js';
import { HealthModule } from './health/index.js';

export interface AppParts {
  config: AppConfig;
  dataSource: DataSource;
  keyBackend: KeyBackend;
  chain: ChainClient;
  chainOptions: ChainOptions;
  operatorApiKey: string;
}

/** Headers and body fields that must never reach a log line. */
const REDACTED = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
];

@Module({})
export class AppModule {
  static forRoot(parts: AppParts): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(parts.config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: parts.config.logLevel,
            redact: { paths: REDACTED, censor: '[redacted]' },
            // Query strings can carry codes and tokens; log the path only.
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                path: req.url.split('?')[0],
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
          },
        }),
        PersistenceModule.forRoot(parts.dataSource),
        KeysModule.forRoot(parts.keyBackend),
        ChainModule.forRoot(parts.chain, parts.chainOptions),
        DidModule.forRoot({ cacheTtlSeconds: parts.config.didCacheTtlSeconds }),
        CredentialsModule,
        StatusModule,
        AgenciesModule.forRoot({ operatorApiKey: parts.operatorApiKey }),
        IssuanceModule,
        Oid4vciIssuerModule,
        VerifierModule,
        PresentationModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
