import { generateKeyPairSync } from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import { OAuthError, sha256Hex } from '../common/index.js';
import {
  alreadyAnswered,
  checkResponseState,
  requestAnswered,
  walletErrorVerdict,
  type RequestLookup,
  type RequestUnderAnswer,
} from './response.js';

const NOW = new Date('2026-11-25T10:00:00Z');
const LATER = new Date(NOW.getTime() + 300_000);

const request = (overrides: Partial<RequestUnderAnswer> = {}): RequestUnderAnswer => ({
  id: 'r1',
  status: 'pending',
  expiresAt: LATER,
  stateHash: sha256Hex('state-1'),
  expectsEncryption: false,
  ...overrides,
});

/** The repository's two lookups over an in-memory list. */
const lookup = (...rows: RequestUnderAnswer[]): RequestLookup<RequestUnderAnswer> => ({
  byId: async (id) => rows.find((row) => row.id === id) ?? null,
  byStateHash: async (hash) => rows.find((row) => row.stateHash === hash) ?? null,
});

/** A direct_post.jwt body as a wallet makes it (jose), its header naming `kid`. */
async function encryptedBody(kid: string | undefined) {
  const publicJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const response = await new CompactEncrypt(new TextEncoder().encode('{"vp_token":{}}'))
    .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128GCM', ...(kid ? { kid } : {}) })
    .encrypt(await importJWK(publicJwk as never, 'ECDH-ES'));
  return { response };
}

/** The OAuth error code and status a rule throws. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(OAuthError);
  const { status, error: code } = error as OAuthError & { error: string };
  return { status, code };
}

describe('requestAnswered (response intake)', () => {
  it('finds an encrypted response by its JWE kid and a plain one by its state', async () => {
    const encrypted = request({ id: 'enc', expectsEncryption: true, stateHash: sha256Hex('other') });
    const plain = request();
    const rows = lookup(encrypted, plain);
    expect(await requestAnswered(await encryptedBody('enc'), rows, NOW)).toBe(encrypted);
    expect(await requestAnswered({ state: 'state-1', vp_token: '{}' }, rows, NOW)).toBe(plain);
  });

  it('refuses bodies that name no request, with invalid_request', async () => {
    const rows = lookup(request());
    for (const body of [
      { response: 'not-a-jwe' },
      await encryptedBody(undefined),
      await encryptedBody('unknown'),
      { state: 'unknown-state' },
      { state: 42 },
      {},
    ]) {
      expect(await refusal(requestAnswered(body, rows, NOW))).toEqual({ status: 400, code: 'invalid_request' });
    }
  });

  it('requires encryption when the request asked for it, except for an error response', async () => {
    const rows = lookup(request({ expectsEncryption: true }));
    expect(await refusal(requestAnswered({ state: 'state-1', vp_token: '{}' }, rows, NOW))).toEqual({
      status: 400,
      code: 'invalid_request',
    });
    expect((await requestAnswered({ state: 'state-1', error: 'access_denied' }, rows, NOW)).id).toBe('r1');
  });

  it('accepts a request once (answered ones are refused) and only until it expires', async () => {
    for (const status of ['verified', 'rejected']) {
      expect(await refusal(requestAnswered({ state: 'state-1' }, lookup(request({ status })), NOW))).toEqual({
        status: 400,
        code: 'invalid_request',
      });
    }
    const rows = lookup(request({ expiresAt: NOW }));
    expect(await refusal(requestAnswered({ state: 'state-1' }, rows, NOW))).toEqual({ status: 400, code: 'invalid_request' });
    expect((await requestAnswered({ state: 'state-1' }, rows, new Date(NOW.getTime() - 1))).id).toBe('r1');
    expect(alreadyAnswered()).toMatchObject({ status: 400, error: 'invalid_request' });
  });
});

describe('checkResponseState', () => {
  it('accepts only the request state itself', () => {
    expect(() => checkResponseState('state-1', sha256Hex('state-1'))).not.toThrow();
    for (const state of ['state-2', undefined, 7, ''])
      expect(() => checkResponseState(state, sha256Hex('state-1'))).toThrow(OAuthError);
  });
});

describe('walletErrorVerdict', () => {
  it('records a well-formed error code as a rejection, anything else as invalid_error_code', () => {
    const stateHash = sha256Hex('state-1');
    expect(walletErrorVerdict({ state: 'state-1', error: 'access_denied' }, stateHash)).toEqual({
      verified: false,
      reason: 'wallet answered access_denied',
      credentials: [],
    });
    expect(walletErrorVerdict({ state: 'state-1', error: '<b>Nope</b>' }, stateHash).reason).toBe(
      'wallet answered invalid_error_code',
    );
    expect(walletErrorVerdict({ state: 'state-1', error: 'x'.repeat(65) }, stateHash).reason).toBe(
      'wallet answered invalid_error_code',
    );
    // An encrypted response's JSON may carry any value as its error, even one String() cannot convert.
    for (const error of [JSON.parse('{"toString":0}'), ['access_denied'], 7, null])
      expect(walletErrorVerdict({ state: 'state-1', error }, stateHash).reason).toBe('wallet answered invalid_error_code');
  });

  it('lets only the holder of the state cancel a request', () => {
    expect(() => walletErrorVerdict({ error: 'access_denied' }, sha256Hex('state-1'))).toThrow(OAuthError);
    expect(() => walletErrorVerdict({ state: 'guess', error: 'access_denied' }, sha256Hex('state-1'))).toThrow(OAuthError);
  });
});
