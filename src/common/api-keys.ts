import { randomBytes } from 'node:crypto';
import { sha256Hex } from './secrets.js';

export interface IssuedApiKey {
  /** Shown once to its owner; never stored. */
  token: string;
  prefix: string;
  secretHash: string;
}

/** chy_ for agencies, rpk_ for relying parties. */
export type ApiKeyKind = 'chy' | 'rpk';

/** One pattern per kind, made once: a key is parsed on every authenticated request (and again for the access log). */
const API_KEY_PATTERNS: Record<ApiKeyKind, RegExp> = {
  chy: /^chy_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/,
  rpk: /^rpk_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/,
};

/**
 * API keys look like <kind>_<prefix>_<secret> (chy_ for agencies, rpk_ for relying parties): the prefix
 * finds the row, the secret is checked by digest.
 */
export function issueApiKey(kind: ApiKeyKind = 'chy'): IssuedApiKey {
  const prefix = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { token: `${kind}_${prefix}_${secret}`, prefix, secretHash: sha256Hex(secret) };
}

export function parseApiKey(token: string, kind: ApiKeyKind = 'chy'): { prefix: string; secret: string } | undefined {
  const match = API_KEY_PATTERNS[kind].exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

/** `Bearer <token>`: the scheme is case-insensitive and followed by one or more spaces (RFC 9110 §11.1, §11.4). */
const BEARER = /^bearer +(\S+) *$/i;

/** The token of an `Authorization: Bearer` header, or undefined. */
export function bearerCredentials(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

/** An API key from `Authorization: Bearer` or `X-API-Key`. */
export function bearerToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers['authorization'];
  if (typeof header === 'string' && /^bearer /i.test(header)) return bearerCredentials(header);
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}
