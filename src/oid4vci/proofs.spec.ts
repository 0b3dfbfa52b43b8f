import { generateKeyPairSync } from 'node:crypto';
import { b64, jws, p256 } from '../../test/support/jws.js';
import { checkKeyProof, KEY_PROOF_TYP, repeatedProofKeyProblem } from './proofs.js';

const now = new Date('2026-11-25T05:00:00Z');
const seconds = Math.floor(now.getTime() / 1000);
const limits = { now, maxAgeSeconds: 60 };

const keyProof = (header: Record<string, unknown>, payload: Record<string, unknown> = {}, key = p256()) =>
  jws(
    JSON.stringify({ typ: KEY_PROOF_TYP, alg: 'ES256', jwk: key.jwk, ...header }),
    { aud: 'https://issuer.example', iat: seconds, nonce: 'n-1', ...payload },
    key.privateKey,
  );

describe('checkKeyProof', () => {
  it('accepts an ES256 proof and returns the public members only', () => {
    const key = p256();
    const result = checkKeyProof(keyProof({ jwk: { ...key.jwk, kid: 'x', ext: true } }, {}, key), limits);
    expect(result).toEqual({ ok: true, value: { key: { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y }, nonce: 'n-1' } });
  });

  it('refuses a jwk with private members', () => {
    const key = p256();
    const result = checkKeyProof(keyProof({ jwk: key.privateJwk }, {}, key), limits);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain('private');
  });

  it('refuses a did:jwk kid (not an advertised binding method), also one carrying a private key', () => {
    const key = p256();
    const withPrivate = checkKeyProof(keyProof({ jwk: undefined, kid: `did:jwk:${b64(key.privateJwk)}#0` }, {}, key), limits);
    expect(withPrivate.ok).toBe(false);
    expect(JSON.stringify(withPrivate)).toContain('private');
    expect(checkKeyProof(keyProof({ jwk: undefined, kid: `did:jwk:${b64(key.jwk)}#0` }, {}, key), limits).ok).toBe(false);
  });

  it('pins the algorithm to the advertised ones: EdDSA with an Ed25519 key, or ES256 naming an Ed25519 key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const edJwk = publicKey.export({ format: 'jwk' });
    const eddsa = jws(
      JSON.stringify({ typ: KEY_PROOF_TYP, alg: 'EdDSA', jwk: edJwk }),
      { iat: seconds, nonce: 'n' },
      privateKey,
      true,
    );
    expect(checkKeyProof(eddsa, limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({ jwk: edJwk }), limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({ alg: 'ES384' }), limits).ok).toBe(false);
  });

  it('refuses a repeated header member, crit, a wrong typ and what is not a compact JWS', () => {
    const key = p256();
    const header = JSON.stringify({ typ: KEY_PROOF_TYP, alg: 'ES256', jwk: key.jwk });
    const doubled = `{"alg":"none",${header.slice(1)}`;
    expect(checkKeyProof(jws(doubled, { iat: seconds, nonce: 'n' }, key.privateKey), limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({ crit: ['exp'], exp: 1 }, {}, key), limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({ typ: 'JWT' }, {}, key), limits).ok).toBe(false);
    for (const bad of ['not-a-jwt', 'a.b', 42, undefined, `${b64('{}')}.${b64('{}')}.`])
      expect(checkKeyProof(bad, limits).ok).toBe(false);
  });

  it('takes an iss naming the client the access token was issued to, and any iss where the token names none (F.1)', () => {
    const wallet = { ...limits, clientId: 'https://wallet.example' };
    expect(checkKeyProof(keyProof({}, { iss: 'https://wallet.example' }), wallet).ok).toBe(true);
    expect(checkKeyProof(keyProof({}), wallet).ok).toBe(true);
    const other = checkKeyProof(keyProof({}, { iss: 'https://other-wallet.example' }), wallet);
    expect(other).toMatchObject({ ok: false });
    expect(JSON.stringify(other)).toContain('the proof iss is not the client the access token was issued to');
    expect(checkKeyProof(keyProof({}, { iss: 42 }), wallet).ok).toBe(false);
    // An anonymous pre-authorized grant: no client to compare with.
    expect(checkKeyProof(keyProof({}, { iss: 'https://other-wallet.example' }), limits).ok).toBe(true);
    expect(checkKeyProof(keyProof({}, { iss: ['a'] }), limits).ok).toBe(false);
  });

  it('accepts an iat within the configured window only', () => {
    expect(checkKeyProof(keyProof({}, { iat: seconds - 59 }), limits).ok).toBe(true);
    expect(checkKeyProof(keyProof({}, { iat: seconds - 61 }), limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({}, { iat: seconds - 61 }), { now, maxAgeSeconds: 300 }).ok).toBe(true);
    expect(checkKeyProof(keyProof({}, { iat: seconds + 3600 }), limits).ok).toBe(false);
    expect(checkKeyProof(keyProof({}, { iat: undefined }), limits).ok).toBe(false);
  });
});

describe('repeatedProofKeyProblem', () => {
  it('refuses a batch naming one key twice (§8.3: each key binds at most one credential), whatever other members it has', () => {
    const [a, b] = [p256().jwk, p256().jwk];
    expect(repeatedProofKeyProblem([a, b])).toBeUndefined();
    expect(repeatedProofKeyProblem([a, b, { ...a, kid: 'other' }])).toBe(
      'two proofs name the same key; each key binds one credential',
    );
  });
});
