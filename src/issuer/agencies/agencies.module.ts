import { Module, type DynamicModule } from '@nestjs/common';
import { AgencyController, OperatorController } from './agency.controller.js';
import { AgencyRepository } from './agency.repository.js';
import { AgencyService } from './agency.service.js';
import { AgencyGuard, AgencyKeyInPathGuard, OPERATOR_API_KEY, OperatorGuard } from './auth.js';

@Module({})
export class AgenciesModule {
  static forRoot(options: { operatorApiKey: string }): DynamicModule {
    return {
      module: AgenciesModule,
      global: true,
      controllers: [OperatorController, AgencyController],
      providers: [
        { provide: OPERATOR_API_KEY, useValue: options.operatorApiKey },
        AgencyRepository,
        AgencyService,
        OperatorGuard,
        AgencyGuard,
        AgencyKeyInPathGuard,
      ],
      exports: [AgencyService, AgencyRepository, AgencyGuard, AgencyKeyInPathGuard, OperatorGuard, OPERATOR_API_KEY],
    };
  }
}
