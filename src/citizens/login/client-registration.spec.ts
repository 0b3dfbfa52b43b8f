import { generateKeyPairSync } from 'node:crypto';
import {
  jwksProblems,
  providerClientMetadata,
  redirectUriProblems,
  registerOidcClientSchema,
  scopeProblems,
  type OidcClientRecord,
} from './client-registration.js';
import { LOGIN_SCOPES } from './scopes.js';

const paths = (problems: { path: string }[]) => problems.map((problem) => problem.path);

describe('OIDC client registration rules', () => {
  it('takes exact https redirect URIs on one host; http only outside production', () => {
    expect(redirectUriProblems(['https://portal.example/callback', 'https://portal.example/other'], true)).toEqual([]);
    expect(redirectUriProblems(['http://127.0.0.1:8080/callback'], false)).toEqual([]);
    expect(paths(redirectUriProblems(['http://portal.example/callback'], true))).toEqual(['redirectUris.0']);
    expect(
      paths(
        redirectUriProblems(
          [
            'https://portal.example/cb#x',
            'https://*.example/cb',
            'https://user:pw@portal.example/cb',
            'portal.example/cb',
            'javascript:alert(1)',
            'https://Portal.example/cb',
          ],
          false,
        ),
      ),
    ).toEqual([
      'redirectUris.0',
      'redirectUris.1',
      'redirectUris.2',
      'redirectUris.3',
      'redirectUris.4',
      'redirectUris.5',
      'redirectUris',
    ]);
    // Two hosts would be two sectors: one portal, one pairwise sector.
    expect(redirectUriProblems(['https://a.example/cb', 'https://b.example/cb'], true)).toEqual([
      { path: 'redirectUris', message: expect.stringContaining('one host') },
    ]);
    expect(redirectUriProblems(['https://a.example/cb', 'https://a.example/cb'], true)).toEqual([
      { path: 'redirectUris', message: 'must not repeat' },
    ]);
  });

  it('knows only the table scopes (openid is implied) and EC P-256 or RSA ≥ 2048 public keys for private_key_jwt', () => {
    expect(scopeProblems(['openid', 'resident_identity', 'driving_licence'], LOGIN_SCOPES)).toEqual([]);
    expect(paths(scopeProblems(['resident_identity', 'profile', '__proto__'], LOGIN_SCOPES))).toEqual(['scopes.1', 'scopes.2']);
    const { x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const key = { kty: 'EC', crv: 'P-256', x, y };
    expect(jwksProblems('private_key_jwt', { keys: [key] })).toEqual([]);
    // Coordinates that are no point of the curve make a key no signature could ever verify against.
    expect(jwksProblems('private_key_jwt', { keys: [{ ...key, x: 'a', y: 'b' }] })).toEqual([
      { path: 'jwks.keys.0', message: 'x and y are not a point of P-256' },
    ]);
    expect(paths(jwksProblems('private_key_jwt', undefined))).toEqual(['jwks']);
    expect(paths(jwksProblems('client_secret_basic', { keys: [key] }))).toEqual(['jwks']);
    expect(
      paths(
        jwksProblems('private_key_jwt', {
          keys: [
            { ...key, d: 'secret' },
            { kty: 'RSA', n: 'n', e: 'AQAB' },
          ],
        }),
      ),
    ).toEqual(['jwks.keys.0', 'jwks.keys.1']);
    const rsa = (bits: number) => {
      const { n, e } = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
      return { kty: 'RSA', n, e };
    };
    expect(jwksProblems('private_key_jwt', { keys: [rsa(2048), key] })).toEqual([]);
    expect(jwksProblems('private_key_jwt', { keys: [rsa(1024)] })).toEqual([
      { path: 'jwks.keys.0', message: 'an RSA key must have at least 2048 bits' },
    ]);
    expect(jwksProblems('private_key_jwt', { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }).map((p) => p.path)).toEqual([
      'jwks.keys.0',
      'jwks.keys.0',
    ]);
    expect(registerOidcClientSchema.safeParse({ name: 'x', redirectUris: [], scopes: ['resident_identity'] }).success).toBe(
      false,
    );
    expect(
      registerOidcClientSchema.safeParse({
        name: 'x',
        redirectUris: ['https://a.example/cb'],
        scopes: ['resident_identity'],
        dataSharingPermission: 'has spaces',
      }).success,
    ).toBe(false);
  });

  it('describes a portal to the provider: code flow, pairwise, ES256, the secret only as its hash', () => {
    const client: OidcClientRecord = {
      id: '6f1c1e9e-8a3b-4c55-9a57-1d2f3e4a5b6c',
      name: 'Housing portal',
      redirectUris: ['https://portal.example/callback'],
      scopes: ['resident_identity'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      idTokenSignedResponseAlg: 'ES256',
      jwks: null,
      dataSharingPermission: 'consortium:permission:housing',
    };
    expect(providerClientMetadata(client, 'ab'.repeat(32))).toEqual({
      client_id: client.id,
      client_name: 'Housing portal',
      redirect_uris: ['https://portal.example/callback'],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      scope: 'openid resident_identity',
      subject_type: 'pairwise',
      application_type: 'web',
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: 'ab'.repeat(32),
      data_sharing_permission: 'consortium:permission:housing',
    });
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] };
    const withKey = providerClientMetadata({ ...client, tokenEndpointAuthMethod: 'private_key_jwt', jwks }, null);
    expect(withKey).toEqual(expect.objectContaining({ jwks, token_endpoint_auth_method: 'private_key_jwt' }));
    expect(withKey).not.toHaveProperty('client_secret');
    const rsa = providerClientMetadata({ ...client, idTokenSignedResponseAlg: 'RS256' }, 'ab'.repeat(32));
    expect(rsa).toEqual(expect.objectContaining({ id_token_signed_response_alg: 'RS256' }));
  });

  it('takes ES256 or RS256 for ID tokens, ES256 unless the portal asks', () => {
    const base = { name: 'Portal', redirectUris: ['https://portal.example/cb'], scopes: ['resident_identity'] };
    expect(registerOidcClientSchema.parse(base).idTokenSignedResponseAlg).toBe('ES256');
    expect(registerOidcClientSchema.parse({ ...base, idTokenSignedResponseAlg: 'RS256' }).idTokenSignedResponseAlg).toBe('RS256');
    for (const alg of ['HS256', 'none', 'PS256', 'rs256']) {
      expect(registerOidcClientSchema.safeParse({ ...base, idTokenSignedResponseAlg: alg }).success).toBe(false);
    }
  });
});
