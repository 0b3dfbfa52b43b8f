export { AgenciesModule } from './agencies/agencies.module.js';
export { AgencyService, type AgencyView } from './agencies/agency.service.js';
export { AgencyRepository, type Agency } from './agencies/agency.repository.js';
export { AgencyEntity, AgencyApiKeyEntity } from './agencies/agency.entity.js';
export { AgencyGuard, OperatorGuard, CurrentAgency } from './agencies/auth.js';
export { resolveOperatorKey, seedDemoAgency, DemoCredentialsFile, DEMO_AGENCY_SLUG } from './agencies/demo.js';
