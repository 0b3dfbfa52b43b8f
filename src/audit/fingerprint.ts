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
 * its one JWT VC (a string or an envelope); none when it carries more. A bare JWT VC: the JWT itself. Nothing for
 * what is not a compact JWS.
 */
export function credentialFingerprints(presentation: unknown): string[] {
  if (typeof presentation !== 'string' || presentation.length === 0) return [];
  if (presentation.includes('~')) return [sha256Hex(presentation.split('~')[0]!)];
  const vp = jwtPayload(presentation)?.['vp'] as { verifiableCredential?: unknown } | undefined;
  if (!vp) return presentation.split('.').length === 3 ? [sha256Hex(presentation)] : [];
  // A presentation is one credential: a JWT VP carrying more (strings or envelopes) is refused, and what it
  // carries beside the one verified was never verified (it could be a copy of someone else's credential).
  const inner = Array.isArray(vp.verifiableCredential) ? vp.verifiableCredential : [vp.verifiableCredential];
  if (inner.length !== 1) return [];
  const jwt = typeof inner[0] === 'string' ? inner[0] : envelopedJwt(inner[0]);
  return jwt !== undefined && jwt.split('.').length === 3 ? [sha256Hex(jwt)] : [];
}

/** The compact JWT of an EnvelopedVerifiableCredential (`id` a `data:application/vc+jwt,` URL), or undefined. */
function envelopedJwt(member: unknown): string | undefined {
  const id = typeof member === 'object' && member !== null ? (member as { id?: unknown }).id : undefined;
  const match = typeof id === 'string' ? /^data:application\/(?:vc\+jwt|jwt),(.+)$/.exec(id) : null;
  return match?.[1];
}
