export { CitizenLoginModule } from './login/login.module.js';
export { CitizenRecordsModule } from './records/records.module.js';
export { OpenIdProvider } from './login/openid-provider.js';
export {
  OidcClientEntity,
  OidcRecordEntity,
  CitizenLoginEntity,
  CitizenLoginClaimsEntity,
  CitizenLoginSettingEntity,
} from './login/login.entity.js';
