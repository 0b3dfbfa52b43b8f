export { loadConfig, ConfigError, publicBaseUrl, type AppConfig, type PlatformConfig } from './config.js';
export { estimatedEntropyBits } from './secret-strength.js';
export { ConfigModule, APP_CONFIG } from './config.module.js';
