import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../common/index.js';

const PREFIX = 'chy';

export interface IssuedApiKey {
  /** Shown once to the agency; never stored. */
  token: string;
  prefix: string;
  secretHash: string;
}

/** API keys look like chy_<prefix>_<secret>: the prefix finds the row, the secret is checked by digest. */
export function issueApiKey(): IssuedApiKey {
  const prefix = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { token: `${PREFIX}_${prefix}_${secret}`, prefix, secretHash: sha256Hex(secret) };
}

export function parseApiKey(token: string): { prefix: string; secret: string } | undefined {
  const match = /^chy_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}
