import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { b64urlJson, decodeJws, signJws } from './jws.js';
import { applyDisclosures, createDisclosure, issueSdJwt, parseSdJwt, salt, verifyKeyBinding } from './sd-jwt.js';

const holder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const holderJwk = holder.publicKey.export({ format: 'jwk' });
const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signWith = (key: typeof holder.privateKey) => async (input: Uint8Array) =>
  nodeSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });

async function issued(disclosable: Record<string, unknown> = { a: 1, b: 'two' }) {
  const sdJwt = await issueSdJwt({
    header: { alg: 'ES256', typ: 'dc+sd-jwt' },
    payload: { iss: 'did:x', vct: 't' },
    disclosable,
    decoys: 3,
    sign: signWith(issuerKey.privateKey),
  });
  const parsed = parseSdJwt(sdJwt);
  return { sdJwt, parsed, payload: decodeJws(parsed.jws).payload };
}

describe('SD-JWT disclosures (RFC 9901 §7.1, stricter than @sd-jwt 0.19)', () => {
  it('reconstructs the disclosed claims and ignores decoys', async () => {
    const { parsed, payload } = await issued();
    expect((payload['_sd'] as string[]).length).toBe(5);
    expect(applyDisclosures(payload, parsed.disclosures)).toEqual({ iss: 'did:x', vct: 't', a: 1, b: 'two' });
    expect(applyDisclosures(payload, parsed.disclosures.slice(1))).toEqual({ iss: 'did:x', vct: 't', b: 'two' });
  });

  it('rejects unreferenced, repeated and colliding disclosures, and reserved names', async () => {
    const { parsed, payload } = await issued();
    const foreign = createDisclosure('a', 999).disclosure;
    expect(() => applyDisclosures(payload, [...parsed.disclosures, foreign])).toThrow('not referenced');
    expect(() => applyDisclosures(payload, [parsed.disclosures[0]!, parsed.disclosures[0]!])).toThrow('repeated');
    const withPlain = { ...payload, a: 'plaintext' };
    expect(() => applyDisclosures(withPlain, parsed.disclosures)).toThrow('collides with a plaintext claim');
    const reserved = createDisclosure('_sd', []);
    expect(() => applyDisclosures({ _sd: [reserved.digest] }, [reserved.disclosure])).toThrow('reserved claim name');
    const twice = createDisclosure('c', 1);
    expect(() => applyDisclosures({ _sd: [twice.digest], nested: { _sd: [twice.digest] } }, [twice.disclosure])).toThrow(
      'appears twice',
    );
    const shortSalt = b64urlJson(['abc', 'c', 1]);
    expect(() => applyDisclosures({ _sd: [] }, [shortSalt])).toThrow('shorter than 128 bits');
    expect(() => applyDisclosures({ ...payload, _sd_alg: 'md5' }, [])).toThrow('unsupported _sd_alg');
  });

  it('keeps claims named like Object.prototype members as own claims, __proto__ included', () => {
    const constructorClaim = createDisclosure('constructor', 'a claim');
    const protoClaim = createDisclosure('__proto__', { polluted: true });
    // As JSON.parse makes it: a plaintext "__proto__" member is an own property.
    const payload = JSON.parse(
      `{"iss":"did:x","toString":"plain","nested":{"__proto__":{"inner":1}},"_sd":["${constructorClaim.digest}","${protoClaim.digest}"]}`,
    ) as Record<string, unknown>;
    const claims = applyDisclosures(payload, [constructorClaim.disclosure, protoClaim.disclosure]);
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(Object.keys(claims).sort()).toEqual(['__proto__', 'constructor', 'iss', 'nested', 'toString']);
    expect(Object.getOwnPropertyDescriptor(claims, '__proto__')?.value).toEqual({ polluted: true });
    expect(claims['constructor']).toBe('a claim');
    expect((claims as { polluted?: unknown }).polluted).toBeUndefined();
    const nested = claims['nested'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(nested, '__proto__')?.value).toEqual({ inner: 1 });
    // A disclosed name collides only with an own plaintext claim, not with an inherited member.
    const toStringClaim = createDisclosure('toString', 'disclosed');
    expect(() => applyDisclosures({ toString: 'plain', _sd: [toStringClaim.digest] }, [toStringClaim.disclosure])).toThrow(
      'collides with a plaintext claim',
    );
    expect(applyDisclosures({ _sd: [toStringClaim.digest] }, [toStringClaim.disclosure])).toEqual({ toString: 'disclosed' });
  });

  it('handles array element disclosures', () => {
    const element = b64urlJson(['salt-salt-salt-salt-salt', 'DE']);
    const digest = createHash('sha256').update(element).digest('base64url');
    expect(applyDisclosures({ nationalities: [{ '...': digest }, 'FR'] }, [element])).toEqual({ nationalities: ['DE', 'FR'] });
  });

  it('refuses names that may not be disclosed at the top level, naming each, and allows them nested', () => {
    const rules = { neverDisclosedAtTop: new Set(['status', 'exp']) };
    const status = createDisclosure('status', { idx: 1 });
    const exp = createDisclosure('exp', 2);
    const plain = createDisclosure('family_name', 'Li');
    const payload = { _sd: [status.digest, plain.digest, exp.digest] };
    // Named in the order the holder sent them, not the order of _sd.
    const disclosures = [exp.disclosure, plain.disclosure, status.disclosure];
    expect(() => applyDisclosures(payload, disclosures, rules)).toThrow(/^exp, status may not be selectively disclosed$/);
    expect(() => applyDisclosures(payload, [...disclosures].reverse(), rules)).toThrow(
      /^status, exp may not be selectively disclosed$/,
    );
    expect(applyDisclosures(payload, disclosures)).toEqual({ status: { idx: 1 }, family_name: 'Li', exp: 2 });
    // Only the top level is the credential's own: a claim of the subject may be called status.
    const nested = { address: { _sd: [status.digest] }, _sd: [plain.digest] };
    expect(applyDisclosures(nested, [status.disclosure, plain.disclosure], rules)).toEqual({
      address: { status: { idx: 1 } },
      family_name: 'Li',
    });
    // The structural checks come first: an unreferenced disclosure is reported as such.
    expect(() => applyDisclosures({ _sd: [status.digest] }, [status.disclosure, plain.disclosure], rules)).toThrow(
      'not referenced',
    );
  });

  it('checks key binding: typ, signature, aud, nonce, iat window and sd_hash', async () => {
    const { sdJwt } = await issued();
    const now = Math.floor(Date.now() / 1000);
    const present = async (payload: Record<string, unknown>, typ = 'kb+jwt', key = holder.privateKey) => {
      const base = parseSdJwt(sdJwt).sdHashInput;
      const sdHash = createHash('sha256').update(base).digest('base64url');
      return parseSdJwt(base + (await signJws({ alg: 'ES256', typ }, { sd_hash: sdHash, ...payload }, signWith(key))));
    };
    const expect_ = { audience: 'https://rp', nonce: 'n1', nowSeconds: now, maxAgeSeconds: 300, clockSkewSeconds: 60 };
    expect(
      await verifyKeyBinding(await present({ aud: 'https://rp', nonce: 'n1', iat: now }), holderJwk, expect_),
    ).toBeUndefined();
    expect(
      await verifyKeyBinding(await present({ aud: 'https://rp', nonce: 'n1', iat: now }, 'JWT'), holderJwk, expect_),
    ).toEqual({ reason: expect.stringContaining('typ') });
    // Made for another request: the whole OID4VP response is refused (forAnotherRequest), not only this presentation.
    expect(await verifyKeyBinding(await present({ aud: 'https://x', nonce: 'n1', iat: now }), holderJwk, expect_)).toEqual({
      reason: expect.stringContaining('audience'),
      forAnotherRequest: true,
    });
    expect(await verifyKeyBinding(await present({ aud: 'https://rp', nonce: 'n2', iat: now }), holderJwk, expect_)).toEqual({
      reason: 'the key-binding JWT nonce does not match',
      forAnotherRequest: true,
    });
    expect(await verifyKeyBinding(await present({ aud: 'https://rp', iat: now }), holderJwk, expect_)).toMatchObject({
      forAnotherRequest: true,
    });
    // A VC-API caller that gives no challenge or domain: the rest is checked, and the KB-JWT must still carry both.
    const unchecked = { nowSeconds: now, maxAgeSeconds: 300, clockSkewSeconds: 60 };
    expect(
      await verifyKeyBinding(await present({ aud: 'https://x', nonce: 'any', iat: now }), holderJwk, unchecked),
    ).toBeUndefined();
    expect(
      await verifyKeyBinding(await present({ aud: 'https://x', nonce: 'n2', iat: now }), holderJwk, {
        ...unchecked,
        nonce: 'n1',
      }),
    ).toMatchObject({ forAnotherRequest: true });
    for (const nonce of [undefined, ''])
      expect(await verifyKeyBinding(await present({ aud: 'https://x', nonce, iat: now }), holderJwk, unchecked)).toEqual({
        reason: 'the key-binding JWT has no nonce',
      });
    for (const aud of [undefined, [], [42], ''])
      expect(await verifyKeyBinding(await present({ aud, nonce: 'n1', iat: now }), holderJwk, unchecked)).toEqual({
        reason: 'the key-binding JWT has no aud',
      });
    expect(
      await verifyKeyBinding(await present({ aud: 'https://x', nonce: 'n1', iat: now - 600 }), holderJwk, unchecked),
    ).toEqual({
      reason: expect.stringContaining('too old'),
    });
    // aud as an array: only one holding the audience alone (some wallets always send one), not one naming others too.
    expect(
      await verifyKeyBinding(await present({ aud: ['https://rp'], nonce: 'n1', iat: now }), holderJwk, expect_),
    ).toBeUndefined();
    expect(
      await verifyKeyBinding(await present({ aud: ['https://rp', 'https://x'], nonce: 'n1', iat: now }), holderJwk, expect_),
    ).toMatchObject({ forAnotherRequest: true });
    expect(await verifyKeyBinding(await present({ aud: 'https://rp', nonce: 'n1', iat: now + 600 }), holderJwk, expect_)).toEqual(
      { reason: expect.stringContaining('future') },
    );
    expect(await verifyKeyBinding(await present({ aud: 'https://rp', nonce: 'n1', iat: now - 600 }), holderJwk, expect_)).toEqual(
      { reason: expect.stringContaining('too old') },
    );
    expect(
      await verifyKeyBinding(
        await present({ aud: 'https://rp', nonce: 'n1', iat: now }, 'kb+jwt', issuerKey.privateKey),
        holderJwk,
        expect_,
      ),
    ).toEqual({ reason: expect.stringContaining('signature') });
  });
});

describe('pooled salts', () => {
  it('hands out 16-byte salts (base64url) that never repeat, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const value = salt();
      expect(value).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(value, 'base64url')).toHaveLength(16);
      seen.add(value);
    }
    expect(seen.size).toBe(1_000);
  });
});
