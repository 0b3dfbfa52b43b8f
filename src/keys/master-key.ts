import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AppConfig } from '../config/index.js';

/**
 * The configured master key, or, outside production, one kept in DATA_DIR/master.key (created on first
 * start, mode 0600) so the embedded default needs no set-up. Production refuses to start without
 * KMS_MASTER_KEY (see config).
 */
export function resolveMasterKey(config: AppConfig): Buffer {
  if (config.keys.masterKey) return config.keys.masterKey;
  if (config.env === 'production') throw new Error('KMS_MASTER_KEY is required in production');
  const file = join(config.dataDir, 'master.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
  return key;
}
