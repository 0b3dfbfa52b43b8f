import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { DatabaseOutage } from './database-outage.js';
import { ProblemFilter } from './problem.filter.js';
import { OAuthRouteRegistry } from './oauth-routes.js';
import {
  RATE_LIMIT_OPTIONS,
  RateLimitGuard,
  THROTTLER_STORAGE,
  createThrottlerStorage,
  type RateLimitOptions,
} from './rate-limit.js';

/**
 * The HTTP platform's Nest side: the one exception filter, the registry of `@OAuthErrors()` routes it
 * consults, the rate-limit guard, the database outage state.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(rateLimits: RateLimitOptions): DynamicModule {
    return {
      module: PlatformModule,
      imports: [DiscoveryModule],
      providers: [
        OAuthRouteRegistry,
        DatabaseOutage,
        { provide: RATE_LIMIT_OPTIONS, useValue: rateLimits },
        { provide: THROTTLER_STORAGE, useFactory: () => createThrottlerStorage(rateLimits) },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
      exports: [DatabaseOutage, THROTTLER_STORAGE],
    };
  }
}
