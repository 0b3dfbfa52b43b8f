export {
  loadConfig,
  ConfigError,
  MAX_ACCESS_TOKEN_SECONDS,
  publicBaseUrl,
  type AppConfig,
  type PlatformConfig,
} from './config.js';
export { estimatedEntropyBits } from './secret-strength.js';
export { ConfigModule, APP_CONFIG } from './config.module.js';
export { REASON_CODE_PATTERN, DEFAULT_REASON_CODES } from './consortium-config.js';
