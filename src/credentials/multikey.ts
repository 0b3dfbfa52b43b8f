import { createPublicKey, type JsonWebKey } from 'node:crypto';

/**
 * Multikey (W3C Controlled Identifiers §2.2.2) public keys: `z` + base58btc(multicodec header || key),
 * the key compressed for ECDSA curves. Converted from and to JWK with node:crypto (SPKI DER), so did:key
 * and Multikey verification methods can verify JOSE signatures and JWKs can back Data Integrity proofs.
 */
interface Curve {
  crv: string;
  kty: 'EC' | 'OKP';
  /** Multicodec varint of the public key type. */
  header: number[];
  /** SubjectPublicKeyInfo DER before the key bytes (compressed point or raw Ed25519 key). */
  spkiPrefix: string;
  keyLength: number;
}

const CURVES: Curve[] = [
  {
    crv: 'P-256',
    kty: 'EC',
    header: [0x80, 0x24],
    spkiPrefix: '3039301306072a8648ce3d020106082a8648ce3d030107032200',
    keyLength: 33,
  },
  { crv: 'P-384', kty: 'EC', header: [0x81, 0x24], spkiPrefix: '3046301006072a8648ce3d020106052b81040022033200', keyLength: 49 },
  { crv: 'Ed25519', kty: 'OKP', header: [0xed, 0x01], spkiPrefix: '302a300506032b6570032100', keyLength: 32 },
];

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58btcEncode(bytes: Uint8Array): string {
  let value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 58n)] + out;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = `1${out}`;
  }
  return out;
}

export function base58btcDecode(text: string): Uint8Array | undefined {
  if (!/^[1-9A-HJ-NP-Za-km-z]*$/.test(text) || text.length > 200) return undefined;
  let value = 0n;
  for (const char of text) value = value * 58n + BigInt(ALPHABET.indexOf(char));
  const hex = value === 0n ? '' : value.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const zeros = /^1*/.exec(text)![0].length;
  return Buffer.concat([Buffer.alloc(zeros), body]);
}

/** The Multikey `publicKeyMultibase` of a public JWK (P-256, P-384 or Ed25519). */
export function jwkToMultibase(jwk: JsonWebKey): string {
  const curve = CURVES.find((candidate) => candidate.crv === jwk.crv && candidate.kty === jwk.kty);
  if (!curve || typeof jwk.x !== 'string') throw new Error(`unsupported key ${jwk.kty}/${jwk.crv}`);
  const spki = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }).export({
    type: 'spki',
    format: 'der',
  });
  // For EC keys node exports the uncompressed point; compress it (parity of y, then x).
  const raw =
    curve.kty === 'OKP'
      ? spki.subarray(spki.length - curve.keyLength)
      : (() => {
          const x = Buffer.from(jwk.x!, 'base64url');
          const y = Buffer.from(jwk.y!, 'base64url');
          return Buffer.concat([Buffer.from([y[y.length - 1]! & 1 ? 0x03 : 0x02]), x]);
        })();
  return `z${base58btcEncode(Buffer.concat([Buffer.from(curve.header), raw]))}`;
}

/** The public JWK of a Multikey `publicKeyMultibase`, or undefined when it is no key we support. */
export function multibaseToJwk(multibase: unknown): JsonWebKey | undefined {
  if (typeof multibase !== 'string' || !multibase.startsWith('z')) return undefined;
  const bytes = base58btcDecode(multibase.slice(1));
  if (!bytes) return undefined;
  const curve = CURVES.find((candidate) => candidate.header.every((byte, index) => bytes[index] === byte));
  if (!curve || bytes.length !== curve.header.length + curve.keyLength) return undefined;
  try {
    const der = Buffer.concat([Buffer.from(curve.spkiPrefix, 'hex'), bytes.subarray(curve.header.length)]);
    const jwk = createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return curve.kty === 'OKP' ? { kty: 'OKP', crv: curve.crv, x: jwk.x } : { kty: 'EC', crv: curve.crv, x: jwk.x, y: jwk.y };
  } catch {
    return undefined;
  }
}
