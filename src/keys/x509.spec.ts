import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from './x509.js';

describe('self-signed X.509 certificates', () => {
  it('are parsed and verified by node:crypto (OpenSSL), with the subjectAltName DNS names', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = await selfSignedCertificate(
      {
        commonName: 'Bank of Example 示例银行',
        dnsNames: ['verifier.example', 'localhost'],
        validityDays: 365,
        spki: publicKey.export({ type: 'spki', format: 'der' }),
      },
      async (tbs) => sign('sha256', tbs, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    const certificate = new X509Certificate(der);
    expect(certificate.subjectAltName).toBe('DNS:verifier.example, DNS:localhost');
    expect(certificate.subject).toContain('CN=Bank of Example');
    expect(certificate.verify(publicKey)).toBe(true);
    expect(certificate.publicKey.export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }));
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.ca).toBe(false);
  });

  it.each(['Bank, "Example", Ltd', '#not hex', 'A \\ b + c = d'])(
    'takes the common name %j verbatim, and a positive serial number',
    async (commonName) => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const der = await selfSignedCertificate(
        { commonName, dnsNames: ['rp.example'], validityDays: 1, spki: publicKey.export({ type: 'spki', format: 'der' }) },
        async (tbs) => sign('sha256', tbs, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
      );
      const certificate = new X509Certificate(der);
      expect(certificate.verify(publicKey)).toBe(true);
      expect(certificate.toLegacyObject().subject).toEqual({ CN: commonName });
      expect(certificate.serialNumber).toMatch(/^01[0-9A-F]{30}$/);
    },
  );
});
