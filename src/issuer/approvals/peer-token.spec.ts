import { Wallet } from 'ethers';
import { createPublicKey, verify } from 'node:crypto';
import { decodeJwt } from 'jose';
import { peerToken, peerTokenSigningInput, verifyPeerToken } from './peer-token.js';

describe('peer token (joint-approval content requests)', () => {
  const department = Wallet.createRandom();
  const applicationId = '0x' + 'ab'.repeat(32);
  const now = 1_900_000_000;
  const sign = (controller = department.address, signer = department, id = applicationId, at = now) => {
    const { signingInput, digest } = peerTokenSigningInput(controller, id, at);
    const signature = signer.signingKey.sign(digest);
    return peerToken(signingInput, signature);
  };

  it('is an ES256K JWS that OpenSSL verifies with the controller’s public key', () => {
    const token = sign();
    const publicKey = Buffer.from(department.signingKey.publicKey.slice(4), 'hex');
    const jwk = {
      kty: 'EC',
      crv: 'secp256k1',
      x: publicKey.subarray(0, 32).toString('base64url'),
      y: publicKey.subarray(32).toString('base64url'),
    };
    // OpenSSL (node:crypto) checks the ES256K signature with the controller's public key; jose decodes the claims.
    const [header, payloadPart, signature] = token.split('.') as [string, string, string];
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(
      verify(
        'sha256',
        Buffer.from(`${header}.${payloadPart}`),
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(true);
    expect(decodeJwt(token)).toMatchObject({ iss: department.address, sub: applicationId, aud: 'chancery:approval-content' });
    expect(verifyPeerToken(token, applicationId, now + 10)).toBe(department.address);
  });

  it('refuses another application, an expired token, a signature by someone else, a tampered payload', () => {
    expect(() => verifyPeerToken(sign(), '0x' + 'cd'.repeat(32), now)).toThrow(/another resource/);
    expect(() => verifyPeerToken(sign(), applicationId, now + 200)).toThrow(/expired/);
    const impostor = Wallet.createRandom();
    expect(() => verifyPeerToken(sign(department.address, impostor), applicationId, now)).toThrow(/not by iss/);
    const [header, , signature] = sign().split('.');
    /** A payload part for this application with another iss, under the original signature. */
    const claimsFrom = (iss: string) =>
      Buffer.from(
        JSON.stringify({ iss, sub: applicationId, aud: 'chancery:approval-content', iat: now, exp: now + 60, jti: 'x' }),
      ).toString('base64url');
    const forged = claimsFrom(department.address);
    expect(() => verifyPeerToken(`${header}.${forged}.${signature}`, applicationId, now)).toThrow(/not by iss/);
    expect(() => verifyPeerToken('a.b', applicationId, now)).toThrow(/compact JWS/);
    // An iss with a wrong EIP-55 checksum is refused by our own check, not by a library error passed on.
    const typo = claimsFrom('0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa');
    expect(() => verifyPeerToken(`${header}.${typo}.${signature}`, applicationId, now)).toThrow(/^iss must be an address$/);
  });
});
