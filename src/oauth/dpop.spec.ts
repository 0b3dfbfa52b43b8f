import { jws, p256 } from '../../test/support/jws.js';
import { assertFreshDpop, checkDpopProof, dpopReplayKey, type JtiReplayStore } from './dpop.js';
import { OAuthError } from '../common/index.js';

const now = new Date('2026-11-25T05:00:00Z');
const seconds = Math.floor(now.getTime() / 1000);
const limits = { now, maxAgeSeconds: 60 };

const dpop = (header: Record<string, unknown>, payload: Record<string, unknown> = {}, key = p256()) =>
  jws(
    JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk, ...header }),
    { htm: 'POST', htu: 'https://issuer.example/oid4vci/token', iat: seconds, jti: 'jti-0123456789', ...payload },
    key.privateKey,
  );

describe('checkDpopProof', () => {
  it('accepts a well-formed proof and returns the public key and jti', () => {
    const key = p256();
    expect(checkDpopProof(dpop({}, {}, key), limits)).toEqual({
      ok: true,
      value: { key: { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y }, jti: 'jti-0123456789' },
    });
  });

  it('accepts a kid beside the jwk (RFC 9449 §4.2 forbids only private members)', () => {
    const checked = checkDpopProof(dpop({ kid: 'key-1' }), limits);
    expect(checked.ok).toBe(true);
  });

  it('refuses a jwk with private members, another alg, another typ, a missing jti, an old iat, and garbage', () => {
    const key = p256();
    expect(checkDpopProof(dpop({ jwk: key.privateJwk }, {}, key), limits).ok).toBe(false);
    expect(checkDpopProof(dpop({ alg: 'EdDSA' }), limits).ok).toBe(false);
    expect(checkDpopProof(dpop({ typ: 'JWT' }), limits).ok).toBe(false);
    expect(checkDpopProof(dpop({}, { jti: undefined }), limits).ok).toBe(false);
    expect(checkDpopProof(dpop({}, { iat: seconds - 120 }), limits).ok).toBe(false);
    expect(checkDpopProof(dpop({ x5c: ['MIIB'] }), limits).ok).toBe(false);
    expect(checkDpopProof('garbage', limits).ok).toBe(false);
    expect(checkDpopProof(`${dpop({})}, ${dpop({})}`, limits).ok).toBe(false);
  });
});

/** The port's contract, in memory: one caller wins per key until the value expires. */
class MemoryReplay implements JtiReplayStore {
  readonly seen = new Map<string, Date>();
  async rememberOnce(key: string, expiresAt: Date): Promise<boolean> {
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAt);
    return true;
  }
}

describe('assertFreshDpop', () => {
  const fresh = (proof: string | null, replay: JtiReplayStore, status: 400 | 401 = 400) =>
    assertFreshDpop(proof, { now, maxAgeSeconds: 60, replay, status });
  const codeOf = async (work: Promise<void>) => {
    const error = await work.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    return error instanceof OAuthError
      ? { status: error.status, error: error.error, challenge: error.headers['www-authenticate'] }
      : error;
  };

  it('lets a request without a proof through, and accepts a proof once', async () => {
    const replay = new MemoryReplay();
    await expect(fresh(null, replay)).resolves.toBeUndefined();
    const proof = dpop({});
    await expect(fresh(proof, replay)).resolves.toBeUndefined();
    expect(await codeOf(fresh(proof, replay))).toEqual({ status: 400, error: 'invalid_dpop_proof', challenge: undefined });
  });

  it('remembers the hashed jti for the proof lifetime plus the margin', async () => {
    const replay = new MemoryReplay();
    await fresh(dpop({}, { jti: 'jti-remembered' }), replay);
    expect([...replay.seen.keys()]).toEqual([dpopReplayKey('jti-remembered')]);
    expect(dpopReplayKey('jti-remembered')).not.toContain('jti-remembered');
    expect(replay.seen.get(dpopReplayKey('jti-remembered'))).toEqual(new Date(now.getTime() + 120_000));
  });

  it('answers a bad proof at a resource with 401 and a DPoP challenge, and does not remember it', async () => {
    const replay = new MemoryReplay();
    const refused = await codeOf(fresh(dpop({}, { iat: seconds - 120 }), replay, 401));
    expect(refused).toEqual({
      status: 401,
      error: 'invalid_dpop_proof',
      challenge: expect.stringMatching(/^DPoP algs="ES256", error="invalid_dpop_proof", error_description="[^"]+"$/),
    });
    expect(replay.seen.size).toBe(0);
  });
});
