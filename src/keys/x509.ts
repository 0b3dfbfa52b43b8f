import { randomBytes } from 'node:crypto';

// Minimal DER writer for one thing: a self-signed X.509 v3 certificate with a subjectAltName, signed
// ECDSA P-256/SHA-256. node:crypto parses certificates (X509Certificate) but cannot issue them.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);

function integer(value: Buffer): Buffer {
  let bytes = value;
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  return tlv(0x02, bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const out = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const utcTime = (date: Date) => tlv(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

/** IEEE P1363 r||s (what JWS uses) to the DER ECDSA-Sig-Value X.509 needs. */
export function p1363ToDer(signature: Uint8Array): Buffer {
  const half = signature.length / 2;
  return sequence(integer(Buffer.from(signature.subarray(0, half))), integer(Buffer.from(signature.subarray(half))));
}

export interface CertificateRequest {
  commonName: string;
  dnsNames: string[];
  validityDays: number;
  /** SubjectPublicKeyInfo of the key, DER. */
  spki: Buffer;
}

/** Builds the certificate; `sign` returns an ECDSA P-256 signature (r||s) over the TBS bytes. */
export async function selfSignedCertificate(
  request: CertificateRequest,
  sign: (tbs: Buffer) => Promise<Uint8Array>,
): Promise<Buffer> {
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8(request.commonName))));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + request.validityDays * 86_400_000);
  const subjectAltName = sequence(...request.dnsNames.map((dns) => tlv(0x82, Buffer.from(dns, 'ascii'))));
  const extensions = tlv(0xa3, sequence(sequence(oid('2.5.29.17'), tlv(0x04, subjectAltName))));
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(notBefore), utcTime(notAfter)),
    name,
    request.spki,
    extensions,
  );
  const signature = p1363ToDer(await sign(tbs));
  return sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
}
