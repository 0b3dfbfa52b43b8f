import helmet from 'helmet';
import { recordedHeaders, wellKnownWithoutPath } from './http-platform.js';

describe('recordedHeaders', () => {
  it("records helmet's headers once, with what it removes left out", () => {
    const headers = recordedHeaders(
      helmet({
        contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'self'"], 'frame-ancestors': ["'none'"] } },
        frameguard: { action: 'deny' },
        referrerPolicy: { policy: 'no-referrer' },
        strictTransportSecurity: false,
      }),
    );
    expect(headers).toMatchObject({
      'content-security-policy': "default-src 'self';frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    expect(headers).not.toHaveProperty('strict-transport-security');
    expect(headers).not.toHaveProperty('x-powered-by');
  });

  it('refuses a middleware whose headers could depend on the request, or that answers later', () => {
    expect(() => recordedHeaders((request, _response, next) => next(request.headers['x-a']))).toThrow(/read the request/);
    expect(() => recordedHeaders((_request, _response, next) => setImmediate(() => next()))).toThrow(/synchronously/);
    expect(() => recordedHeaders((_request, _response, next) => next(new Error('broken')))).toThrow(/broken/);
    expect(() =>
      recordedHeaders((_request, response, next) => {
        response.setHeader('x-list', ['a', 'b']);
        next();
      }),
    ).toThrow(/non-string/);
  });
});

describe('wellKnownWithoutPath', () => {
  it('serves path-inserted issuer and authorization server metadata (RFC 8414 §3.1) as the root form', () => {
    expect(wellKnownWithoutPath('/.well-known/openid-credential-issuer/licences', '/licences')).toBe(
      '/.well-known/openid-credential-issuer',
    );
    expect(wellKnownWithoutPath('/.well-known/oauth-authorization-server/licences?x=1', '/licences')).toBe(
      '/.well-known/oauth-authorization-server?x=1',
    );
    for (const url of [
      '/.well-known/openid-credential-issuer/other',
      '/.well-known/openid-credential-issuer/licencesX',
      '/.well-known/jwks.json',
      '/oid4vci/credential',
    ])
      expect(wellKnownWithoutPath(url, '/licences')).toBe(url);
  });

  it("serves the OpenID Provider's RFC 8414 metadata, its issuer <PUBLIC_URL>/oidc, as its discovery document", () => {
    expect(wellKnownWithoutPath('/.well-known/oauth-authorization-server/oidc', '')).toBe(
      '/oidc/.well-known/openid-configuration',
    );
    expect(wellKnownWithoutPath('/.well-known/oauth-authorization-server/licences/oidc?x=1', '/licences')).toBe(
      '/oidc/.well-known/openid-configuration?x=1',
    );
    for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/oidcX', '/oidc/x'])
      expect(wellKnownWithoutPath(url, '')).toBe(url);
  });
});
