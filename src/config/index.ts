export { loadConfig, ConfigError, publicBaseUrl, estimatedEntropyBits, type AppConfig, type PlatformConfig } from './config.js';
export { ConfigModule, APP_CONFIG } from './config.module.js';
