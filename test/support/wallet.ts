import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  createPublicKey,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import {
  clientAuthenticationAnonymous,
  HashAlgorithm,
  type Jwk,
  type JwtSigner,
  type SignJwtCallback,
  type VerifyJwtCallback,
  type EncryptJweCallback,
} from '@openid4vc/oauth2';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { Openid4vpClient } from '@openid4vc/openid4vp';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The key a verifier names in a JWT it sends the wallet: an embedded JWK, a did:jwk, or an X.509 leaf
 * certificate the wallet trusts (a real wallet would validate a chain to its trust anchors).
 */
function signerKey(signer: JwtSigner, trusted: Set<string>): Jwk | undefined {
  if (signer.method === 'jwk') return signer.publicJwk;
  if (signer.method === 'x5c') {
    if (!trusted.has(signer.x5c[0]!)) return undefined;
    return new X509Certificate(Buffer.from(signer.x5c[0]!, 'base64')).publicKey.export({ format: 'jwk' }) as Jwk;
  }
  if (signer.method === 'did' && signer.didUrl.startsWith('did:jwk:')) {
    return JSON.parse(Buffer.from(signer.didUrl.slice('did:jwk:'.length).split('#')[0]!, 'base64url').toString()) as Jwk;
  }
  return undefined;
}

/**
 * A citizen's wallet for the tests: its keys, and the crypto callbacks the @openid4vc client libraries
 * need. All protocol messages are built and checked by those libraries, not by us.
 */
export function wallet(trustedCertificates: string[] = []) {
  const trusted = new Set(trustedCertificates);
  const keys = new Map<string, KeyObject>();
  const newKey = (): Jwk => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Jwk;
    keys.set(jwk.x!, privateKey);
    return jwk;
  };
  const privateJwk = (publicJwk: Jwk) => keys.get(publicJwk.x!)!.export({ format: 'jwk' });
  const signJwt: SignJwtCallback = async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error('wallet signs with jwk signers only');
    const input = `${b64(header)}.${b64(payload)}`;
    const signature = nodeSign('sha256', Buffer.from(input), { key: keys.get(signer.publicJwk.x!)!, dsaEncoding: 'ieee-p1363' });
    return { jwt: `${input}.${signature.toString('base64url')}`, signerJwk: signer.publicJwk };
  };
  const verifyJwt: VerifyJwtCallback = async (signer, { compact }) => {
    const jwk = signerKey(signer, trusted);
    if (!jwk) return { verified: false };
    const [header, payload, signature] = compact.split('.');
    const verified = nodeVerify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature!, 'base64url'),
    );
    return verified ? { verified: true, signerJwk: jwk } : { verified: false };
  };
  const encryptJwe: EncryptJweCallback = async (encryptor, data) => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: encryptor.enc, kid: encryptor.publicJwk.kid })
      .encrypt(await importJWK(encryptor.publicJwk as never, 'ECDH-ES'));
    return { encryptionJwk: encryptor.publicJwk, jwe };
  };
  const hash = (data: Uint8Array, alg: HashAlgorithm) =>
    createHash(alg === HashAlgorithm.Sha256 ? 'sha256' : 'sha384')
      .update(data)
      .digest();
  const vci = new Openid4vciClient({
    callbacks: {
      fetch,
      signJwt,
      hash,
      generateRandom: (length) => randomBytes(length),
      clientAuthentication: clientAuthenticationAnonymous(),
    },
  });
  const vp = new Openid4vpClient({
    callbacks: {
      fetch,
      signJwt,
      verifyJwt,
      hash,
      encryptJwe,
      decryptJwe: () => Promise.reject(new Error('wallet does not decrypt')),
      getX509CertificateMetadata: (certificate: string) => {
        const names = (new X509Certificate(Buffer.from(certificate, 'base64')).subjectAltName ?? '').split(', ');
        return {
          sanDnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4)),
          sanUriNames: names.filter((name) => name.startsWith('URI:')).map((name) => name.slice(4)),
        };
      },
    },
  });
  return { client: vci, vci, vp, newKey, signJwt, privateJwk, trust: (certificate: string) => trusted.add(certificate) };
}
