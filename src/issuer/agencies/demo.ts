import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomToken } from '../../common/index.js';
import type { AppConfig } from '../../config/index.js';
import type { AgencyService } from './agency.service.js';

export const DEMO_AGENCY_SLUG = 'demo';

interface DemoCredentials {
  operatorApiKey?: string;
  demoAgency?: { id: string; did: string; apiKey: string };
}

/**
 * Secrets for the embedded default, kept in DATA_DIR/demo-credentials.json (mode 0600) rather than in
 * logs. Production configures OPERATOR_API_KEY and creates agencies explicitly.
 */
export class DemoCredentialsFile {
  private readonly path: string;

  constructor(config: AppConfig) {
    this.path = join(config.dataDir, 'demo-credentials.json');
  }

  read(): DemoCredentials {
    return existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as DemoCredentials) : {};
  }

  write(update: DemoCredentials): void {
    mkdirSync(join(this.path, '..'), { recursive: true });
    writeFileSync(this.path, JSON.stringify({ ...this.read(), ...update }, null, 2) + '\n', { mode: 0o600 });
  }
}

export function resolveOperatorKey(config: AppConfig): string {
  if (config.operatorApiKey) return config.operatorApiKey;
  const file = new DemoCredentialsFile(config);
  const existing = file.read().operatorApiKey;
  if (existing) return existing;
  const key = randomToken(32);
  file.write({ operatorApiKey: key });
  return key;
}

/** Creates the demo agency on first start of the embedded default, authorised for every catalogue type. */
export async function seedDemoAgency(
  config: AppConfig,
  agencies: AgencyService,
  authorise: (agencyId: string) => Promise<void>,
): Promise<void> {
  const file = new DemoCredentialsFile(config);
  const known = await agencies.get(DEMO_AGENCY_SLUG).catch(() => undefined);
  if (known) return;
  const { agency, apiKey } = await agencies.create({ slug: DEMO_AGENCY_SLUG, name: 'Demo Licensing Agency 示范发证机关' });
  await authorise(agency.id);
  file.write({ demoAgency: { id: agency.id, did: agency.did, apiKey } });
}
