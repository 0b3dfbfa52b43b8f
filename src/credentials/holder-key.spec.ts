import { generateKeyPairSync } from 'node:crypto';
import { holderPublicJwk, InvalidHolderKey } from './holder-key.js';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

describe('holderPublicJwk', () => {
  it('keeps only the public members of a P-256 key', () => {
    const { d: _d, ...pub } = p256();
    expect(holderPublicJwk({ ...pub, kid: 'k1', alg: 'ES256', use: 'sig', ext: true })).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: pub.x,
      y: pub.y,
    });
  });

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])('refuses a key carrying %s', (member) => {
    const { d: _d, ...pub } = p256();
    expect(() => holderPublicJwk({ ...pub, [member]: 'AAAA' })).toThrow(/private key members/);
  });

  it('refuses algorithms we do not advertise, bad coordinates and points off the curve', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    expect(() => holderPublicJwk(ed)).toThrow(/unsupported key type OKP\/Ed25519/);
    expect(holderPublicJwk(ed, ['ES256', 'EdDSA'])).toEqual({ kty: 'OKP', crv: 'Ed25519', x: ed.x });
    const { d: _d, ...pub } = p256();
    expect(() => holderPublicJwk({ ...pub, alg: 'ES384' })).toThrow(/alg must be ES256/);
    expect(() => holderPublicJwk({ ...pub, x: 'short' })).toThrow(InvalidHolderKey);
    const offCurve = { ...pub, y: Buffer.alloc(32, 1).toString('base64url') };
    expect(() => holderPublicJwk(offCurve)).toThrow(/not a point/);
    expect(() => holderPublicJwk('x')).toThrow(/not a JWK/);
  });
});
