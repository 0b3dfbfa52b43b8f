import { hash } from 'node:crypto';

const sha256Hex = (text: string) => hash('sha256', text, 'hex');

function jwtPayload(jwt: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Fingerprints of the credentials in one presentation: SHA-256 (hex) of the issuer-signed part, which is
 * the same in every presentation of a credential and which only its holder (and those it was shown to)
 * can compute. SD-JWT: the issuer JWT before the first `~` (disclosures and key-binding JWT vary). JWT VP:
 * each enveloped JWT VC. A bare JWT VC: the JWT itself. Nothing for what is not a compact JWS.
 */
export function credentialFingerprints(presentation: unknown): string[] {
  if (typeof presentation !== 'string' || presentation.length === 0) return [];
  if (presentation.includes('~')) return [sha256Hex(presentation.split('~')[0]!)];
  const vp = jwtPayload(presentation)?.['vp'] as { verifiableCredential?: unknown } | undefined;
  if (!vp) return presentation.split('.').length === 3 ? [sha256Hex(presentation)] : [];
  const inner = Array.isArray(vp.verifiableCredential) ? vp.verifiableCredential : [vp.verifiableCredential];
  return inner.filter((vc): vc is string => typeof vc === 'string' && vc.split('.').length === 3).map(sha256Hex);
}
