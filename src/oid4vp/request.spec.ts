import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  calculateX509HashClientIdPrefixValue,
  createOpenid4vpAuthorizationRequest,
  getOpenid4vpClientId,
  parseOpenid4vpAuthorizationRequest,
  validateOpenid4vpAuthorizationRequestPayload,
} from '@openid4vc/openid4vp';
import { DcqlQuery } from 'dcql';
import { jwkFromDidJwk } from '../credentials/index.js';
import {
  authorizationRequestPayload,
  clientIdFor,
  holderProofWindowSeconds,
  REQUEST_TTL_SECONDS,
  requestExpiresAt,
  requestObjectSigner,
  sameDeviceReturn,
  type ClientIdPrefix,
} from './request.js';

const ENDPOINTS = { responseUri: 'https://verifier.example/oid4vp/response', publicHost: 'verifier.example' };
// Stands for a certificate's DER (base64): only its hash is taken here.
const CERTIFICATE = Buffer.from('a certificate, DER-encoded').toString('base64');
const signingJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const { kty, crv, x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const encryptionJwk = { kty: kty!, crv: crv!, x: x!, y: y!, kid: 'r1', use: 'enc', alg: 'ECDH-ES' };
const dcqlQuery = DcqlQuery.parse({
  credentials: [
    {
      id: 'dl',
      format: 'dc+sd-jwt',
      meta: { vct_values: ['https://verifier.example/vct/driving-licence'] },
      claims: [{ path: ['categories'] }],
    },
  ],
});

const payloadFor = (prefix: ClientIdPrefix, responseMode: 'direct_post' | 'direct_post.jwt') =>
  authorizationRequestPayload({
    clientId: clientIdFor(prefix, ENDPOINTS, signingJwk, CERTIFICATE),
    nonce: 'n-1',
    state: 's-1',
    responseMode,
    responseUri: ENDPOINTS.responseUri,
    dcqlQuery,
    party: { name: 'Bank 银行', purpose: 'Check driving entitlement' },
    ...(responseMode === 'direct_post.jwt' ? { encryptionJwk } : {}),
  });

describe('holderProofWindowSeconds', () => {
  const limits = { clockSkewSeconds: 60, configured: 60 };
  const at = new Date('2026-12-06T12:00:00Z');
  const before = (seconds: number) => new Date(at.getTime() - seconds * 1000);
  it('is the request age plus the clock skew, never shorter than the configured window', () => {
    expect(holderProofWindowSeconds(before(0), at, limits)).toBe(60);
    expect(holderProofWindowSeconds(before(200), at, limits)).toBe(260);
    expect(holderProofWindowSeconds(before(0.5), at, limits)).toBe(61);
    expect(holderProofWindowSeconds(before(10), at, { clockSkewSeconds: 60, configured: 300 })).toBe(300);
    // A request dated in the future (clocks of two replicas) gives no less than the configured window.
    expect(holderProofWindowSeconds(new Date(at.getTime() + 5000), at, limits)).toBe(60);
  });
});

describe('client ids', () => {
  it('names the party by prefix: the response URI, our host, or the did:jwk of its signing key', () => {
    expect(clientIdFor('redirect_uri', ENDPOINTS, signingJwk, null)).toBe(
      'redirect_uri:https://verifier.example/oid4vp/response',
    );
    expect(clientIdFor('x509_san_dns', ENDPOINTS, signingJwk, CERTIFICATE)).toBe('x509_san_dns:verifier.example');
    const did = clientIdFor('decentralized_identifier', ENDPOINTS, signingJwk, null);
    expect(did).toMatch(/^decentralized_identifier:did:jwk:/);
    expect(jwkFromDidJwk(did.slice('decentralized_identifier:'.length))).toEqual(
      expect.objectContaining({ kty: 'EC', crv: 'P-256', x: signingJwk.x, y: signingJwk.y }),
    );
  });

  it('names an x509_hash party by the base64url SHA-256 of its certificate, as the @openid4vc library computes it', async () => {
    const expected = await calculateX509HashClientIdPrefixValue({
      x509Certificate: CERTIFICATE,
      hash: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
    });
    expect(clientIdFor('x509_hash', ENDPOINTS, signingJwk, CERTIFICATE)).toBe(`x509_hash:${expected}`);
    expect(() => clientIdFor('x509_hash', ENDPOINTS, signingJwk, null)).toThrow('needs its certificate');
  });

  it('reads back with the prefix the @openid4vc library understands, as the full client id wallets bind to', () => {
    for (const prefix of ['redirect_uri', 'x509_san_dns', 'x509_hash', 'decentralized_identifier'] as const) {
      const clientId = clientIdFor(prefix, ENDPOINTS, signingJwk, CERTIFICATE);
      const parsed = getOpenid4vpClientId({ clientId, responseMode: 'direct_post' });
      expect(parsed.clientIdPrefix).toBe(prefix);
      expect(parsed.effectiveClientId).toBe(clientId);
    }
  });

  it('signs request objects by did URL or x5c, and never for redirect_uri', () => {
    const did = clientIdFor('decentralized_identifier', ENDPOINTS, signingJwk, null);
    expect(requestObjectSigner('decentralized_identifier', did, null)).toEqual({
      method: 'did',
      didUrl: `${did.slice('decentralized_identifier:'.length)}#0`,
      alg: 'ES256',
    });
    expect(requestObjectSigner('x509_san_dns', 'x509_san_dns:verifier.example', 'MIIB')).toEqual({
      method: 'x5c',
      x5c: ['MIIB'],
      alg: 'ES256',
    });
    expect(() => requestObjectSigner('x509_san_dns', 'x509_san_dns:verifier.example', null)).toThrow();
    expect(requestObjectSigner('x509_hash', 'x509_hash:abc', 'MIIB')).toEqual({ method: 'x5c', x5c: ['MIIB'], alg: 'ES256' });
    expect(() => requestObjectSigner('x509_hash', 'x509_hash:abc', null)).toThrow();
    expect(requestObjectSigner('redirect_uri', 'redirect_uri:https://verifier.example/oid4vp/response', null)).toBeUndefined();
  });
});

describe('authorizationRequestPayload', () => {
  it('direct_post.jwt: advertises the request key and only A128GCM/A256GCM', () => {
    const payload = payloadFor('decentralized_identifier', 'direct_post.jwt');
    expect(payload).toEqual(
      expect.objectContaining({ response_type: 'vp_token', response_mode: 'direct_post.jwt', nonce: 'n-1', state: 's-1' }),
    );
    expect(payload.client_metadata.jwks).toEqual({ keys: [encryptionJwk] });
    expect(payload.client_metadata.encrypted_response_enc_values_supported).toEqual(['A128GCM', 'A256GCM']);
    expect(payload.client_metadata.vp_formats_supported['dc+sd-jwt']['kb-jwt_alg_values']).toEqual(['ES256']);
    expect(payload.dcql_query).toBe(dcqlQuery);
    expect(() => validateOpenid4vpAuthorizationRequestPayload({ params: payload as never })).not.toThrow();
  });

  it('direct_post: no key, nothing about encryption; refuses direct_post.jwt without a key', () => {
    const payload = payloadFor('x509_san_dns', 'direct_post');
    expect(payload.response_mode).toBe('direct_post');
    expect(payload.client_metadata).toEqual({
      client_name: 'Bank 银行',
      purpose: 'Check driving entitlement',
      vp_formats_supported: expect.any(Object),
    });
    expect(() => validateOpenid4vpAuthorizationRequestPayload({ params: payload as never })).not.toThrow();
    expect(() => authorizationRequestPayload({ ...payloadInput('direct_post.jwt'), encryptionJwk: undefined })).toThrow();
  });

  it('redirect_uri: travels unsigned by value and the wallet library reads it back intact', async () => {
    const payload = payloadFor('redirect_uri', 'direct_post');
    const refuse = () => {
      throw new Error('an unsigned request needs no crypto');
    };
    const created = await createOpenid4vpAuthorizationRequest({
      authorizationRequestPayload: payload as never,
      scheme: 'openid4vp://',
      callbacks: { signJwt: refuse, encryptJwe: refuse },
    });
    expect(created.jar).toBeUndefined();
    const parsed = parseOpenid4vpAuthorizationRequest({ authorizationRequest: created.authorizationRequest });
    expect(parsed.type).toBe('openid4vp');
    expect(parsed.params).toEqual(expect.objectContaining({ client_id: payload.client_id, nonce: 'n-1', state: 's-1' }));
  });
});

function payloadInput(responseMode: 'direct_post' | 'direct_post.jwt') {
  return {
    clientId: clientIdFor('redirect_uri', ENDPOINTS, signingJwk, null),
    nonce: 'n',
    state: 's',
    responseMode,
    responseUri: ENDPOINTS.responseUri,
    dcqlQuery,
    party: { name: 'x', purpose: 'y' },
  };
}

describe('request lifetime and the same-device return', () => {
  it('expires REQUEST_TTL_SECONDS after now', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    expect(requestExpiresAt(now).getTime() - now.getTime()).toBe(REQUEST_TTL_SECONDS * 1000);
  });

  it('appends the request id and response_code to the return URI, keeping its own query', () => {
    expect(sameDeviceReturn('https://rp.example/done', 'r1', 'c1')).toBe('https://rp.example/done?request=r1&response_code=c1');
    expect(sameDeviceReturn('https://rp.example/done?lang=zh', 'r1', 'c1')).toBe(
      'https://rp.example/done?lang=zh&request=r1&response_code=c1',
    );
  });
});
