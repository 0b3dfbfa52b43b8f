import { generateKeyPairSync, sign } from 'node:crypto';
import { compactJwsProblem, decodeJws, isHighS, verifyJwsSignature } from './jws.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('decodeJws strictness (RFC 8725)', () => {
  it('refuses a header or payload that repeats a member', () => {
    expect(compactJwsProblem(`${b64('{"alg":"ES256","alg":"none"}')}.${b64({ a: 1 })}.AA`)).toMatch(/repeats the member "alg"/);
    expect(compactJwsProblem(`${b64({ alg: 'ES256' })}.${b64('{"nonce":"a","nonce":"b"}')}.AA`)).toMatch(/payload repeats/);
    expect(compactJwsProblem(`${b64({ alg: 'ES256' })}.${b64({ a: 1 })}.AA`)).toBeUndefined();
  });

  it('refuses any crit header, empty or not an array included', () => {
    for (const crit of [['b64'], [], 'b64', [1]]) {
      expect(compactJwsProblem(`${b64({ alg: 'ES256', crit, b64: false })}.${b64({})}.AA`)).toMatch(/crit/);
    }
  });
});

describe('high-S signatures', () => {
  it('are refused when asked, accepted otherwise', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${b64({ alg: 'ES256' })}.${b64({ a: 1 })}`;
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    let signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    if (!isHighS(signature)) {
      signature = Buffer.concat([signature.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    }
    expect(isHighS(signature)).toBe(true);
    const jws = decodeJws(`${input}.${signature.toString('base64url')}`);
    const jwk = publicKey.export({ format: 'jwk' });
    expect(verifyJwsSignature(jws, jwk)).toBeUndefined();
    expect(verifyJwsSignature(jws, jwk, { rejectHighS: true })).toMatch(/low-S/);
  });
});

describe('isHighS', () => {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const withS = (s: bigint) => Buffer.concat([Buffer.alloc(32, 7), Buffer.from(s.toString(16).padStart(64, '0'), 'hex')]);

  it('is true exactly above n/2', () => {
    expect(isHighS(withS(n / 2n))).toBe(false);
    expect(isHighS(withS(n / 2n + 1n))).toBe(true);
    expect(isHighS(withS(n / 2n - 1n))).toBe(false);
    expect(isHighS(withS(1n))).toBe(false);
    expect(isHighS(withS(n - 1n))).toBe(true);
    expect(isHighS(Buffer.alloc(63))).toBe(false);
  });
});
