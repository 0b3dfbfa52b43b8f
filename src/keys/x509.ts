// @peculiar/x509 resolves its services through tsyringe, which needs the reflect polyfill loaded first.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Name, SubjectAlternativeNameExtension, X509CertificateGenerator } from '@peculiar/x509';

export interface CertificateRequest {
  commonName: string;
  dnsNames: string[];
  validityDays: number;
  /** SubjectPublicKeyInfo of the key, DER. */
  spki: Buffer;
}

type CreateParams = Parameters<typeof X509CertificateGenerator.create>[0];
type WebCrypto = NonNullable<Parameters<typeof X509CertificateGenerator.create>[1]>;

/** ECDSA P-256 with SHA-256, as WebCrypto names it: what the certificate is signed with. */
const ES256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * A self-signed X.509 v3 certificate with a subjectAltName of DNS names, built by @peculiar/x509. The private key
 * stays in src/keys: `sign` returns an ECDSA P-256 signature (r||s, as WebCrypto's) over the TBS bytes, and it is
 * the only WebCrypto call the generator makes (given the serial number, it draws no random bytes of its own).
 */
export async function selfSignedCertificate(
  request: CertificateRequest,
  sign: (tbs: Buffer) => Promise<Uint8Array>,
): Promise<Buffer> {
  const keyStore = {
    subtle: {
      sign: async (_algorithm: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView) => {
        const bytes = ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
        const signature = await sign(bytes);
        return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength);
      },
    },
  } as unknown as WebCrypto;
  // The common name as a UTF8String taken verbatim: a plain JSON or text name would parse quotes, escapes and a
  // leading '#' (hex) in it, and a relying party's display name is anyone's text.
  const name = new Name([{ CN: [{ utf8String: request.commonName }] }]);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await X509CertificateGenerator.create(
    {
      // Positive (first byte 0x01) and 128 bits of randomness, as RFC 5280 §4.1.2.2 asks of CAs.
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      subject: name,
      issuer: name,
      notBefore,
      notAfter: new Date(notBefore.getTime() + request.validityDays * 86_400_000),
      publicKey: request.spki,
      signingKey: { algorithm: { name: ES256.name, namedCurve: ES256.namedCurve } } as Extract<
        CreateParams,
        { signingKey: unknown }
      >['signingKey'],
      signingAlgorithm: ES256,
      extensions: [new SubjectAlternativeNameExtension(request.dnsNames.map((value) => ({ type: 'dns' as const, value })))],
    },
    keyStore,
  );
  return Buffer.from(certificate.rawData);
}
