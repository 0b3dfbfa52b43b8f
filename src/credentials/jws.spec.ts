import { jest } from '@jest/globals';
import { generateKeyPairSync, sign, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK as JoseJwk } from 'jose';
import { eventLoopLoad } from '../common/event-loop-load.js';
import {
  compactJwsProblem,
  decodeJws,
  isHighS,
  jwkThumbprint,
  verifyJwsSignature,
  verifyJwsSignatureOnThreadpool,
  verifyJwsSignatureUnderLoad,
} from './jws.js';

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

describe('signature checks on the threadpool (ADR 28)', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed25519 = generateKeyPairSync('ed25519');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const signed = (alg: string, key: typeof p256.privateKey, payload: object = { a: 1 }) => {
    const input = `${b64({ alg })}.${b64(payload)}`;
    const signature =
      alg === 'EdDSA'
        ? sign(null, Buffer.from(input), key)
        : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  /** The same signature with s in the upper half of the group order (still valid, but malleated). */
  const highS = (compact: string) => {
    const signature = Buffer.from(compact.split('.')[2]!, 'base64url');
    if (isHighS(signature)) return compact;
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const high = Buffer.concat([signature.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    return `${compact.split('.').slice(0, 2).join('.')}.${high.toString('base64url')}`;
  };
  /** One character of the signature changed (not the last, whose low bits base64url may ignore). */
  const flip = (compact: string) => compact.slice(0, -2) + (compact.at(-2) === 'A' ? 'B' : 'A') + compact.slice(-1);
  const otherPayload = (compact: string) => compact.replace(/\.[^.]+\./, `.${b64({ a: 2 })}.`);
  const p256Jwk = p256.publicKey.export({ format: 'jwk' });
  const edJwk = ed25519.publicKey.export({ format: 'jwk' });

  it('answers exactly as the inline check, for good signatures and for every kind of refusal', async () => {
    const es256 = signed('ES256', p256.privateKey);
    const cases: [string, JsonWebKey, { rejectHighS?: boolean }?][] = [
      [es256, p256Jwk],
      [flip(es256), p256Jwk],
      [otherPayload(es256), p256Jwk],
      [highS(es256), p256Jwk, { rejectHighS: true }],
      [highS(es256), p256Jwk],
      [signed('EdDSA', ed25519.privateKey), edJwk],
      [flip(signed('EdDSA', ed25519.privateKey)), edJwk],
      [es256, edJwk],
      [es256, p384.publicKey.export({ format: 'jwk' })],
      [es256, { ...p256Jwk, x: p256Jwk.y }],
      [`${es256.split('.').slice(0, 2).join('.')}.${Buffer.alloc(63).toString('base64url')}`, p256Jwk],
    ];
    const answers = [];
    for (const [compact, jwk, options] of cases) {
      const jws = decodeJws(compact);
      const inline = verifyJwsSignature(jws, jwk, options);
      expect(await verifyJwsSignatureOnThreadpool(jws, jwk, options)).toBe(inline);
      answers.push(inline);
    }
    // The cases above cover acceptance and each refusal, so the agreement is not between two always-equal answers.
    expect(answers[0]).toBeUndefined();
    expect(answers[4]).toBeUndefined();
    expect(answers[5]).toBeUndefined();
    expect(new Set(answers.filter(Boolean))).toEqual(
      new Set([
        'the signature does not match',
        'the signature is not in canonical low-S form',
        'alg ES256 does not match the Ed25519 key (expected EdDSA)',
        'alg ES256 does not match the P-384 key (expected ES384)',
        'the public key is invalid',
        'the signature has the wrong length',
      ]),
    );
  });

  it('computes the signature off the event loop: the answer arrives in a later turn, not in this one', async () => {
    const jws = decodeJws(signed('ES256', p256.privateKey));
    let answered = false;
    const pending = verifyJwsSignatureOnThreadpool(jws, p256Jwk).then((problem) => {
      answered = true;
      return problem;
    });
    // Only a libuv callback can settle it: draining this turn's microtasks does not.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(answered).toBe(false);
    expect(await pending).toBeUndefined();
    expect(answered).toBe(true);
  });

  it('under load: inline while the event loop has time, on the threadpool while it is saturated', async () => {
    const jws = decodeJws(signed('ES256', p256.privateKey));
    const tampered = decodeJws(flip(signed('ES256', p256.privateKey)));
    // Whether the loop is saturated is EventLoopLoad's own question (event-loop-load.spec); here, only what follows.
    const saturated = jest.spyOn(eventLoopLoad, 'isSaturated');
    try {
      saturated.mockReturnValue(false);
      expect(verifyJwsSignatureUnderLoad(jws, p256Jwk)).toBeUndefined();
      expect(verifyJwsSignatureUnderLoad(tampered, p256Jwk)).toBe('the signature does not match');
      saturated.mockReturnValue(true);
      const offloaded = [verifyJwsSignatureUnderLoad(jws, p256Jwk), verifyJwsSignatureUnderLoad(tampered, p256Jwk)];
      expect(offloaded.every((answer) => answer instanceof Promise)).toBe(true);
      expect(await Promise.all(offloaded)).toEqual([undefined, 'the signature does not match']);
    } finally {
      saturated.mockRestore();
    }
  });
});

describe('jwkThumbprint (RFC 7638)', () => {
  it('agrees with jose for EC, OKP and RSA keys', async () => {
    for (const [type, options] of [
      ['ec', { namedCurve: 'P-256' }],
      ['ed25519', {}],
      ['rsa', { modulusLength: 2048 }],
    ] as const) {
      const jwk = generateKeyPairSync(type as 'ec', options as { namedCurve: string }).publicKey.export({ format: 'jwk' });
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as JoseJwk));
    }
  });
});
