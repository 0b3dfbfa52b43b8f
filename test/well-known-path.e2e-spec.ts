import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * An issuer whose PUBLIC_URL has a path (behind a reverse proxy): a wallet written from the specs looks for its
 * metadata with the well-known name inserted before the path (OID4VCI 1.0 §12.2.2, RFC 8414 §3.1).
 */
describe('well-known metadata of an issuer identifier with a path', () => {
  let app: TestApp;
  const publicUrl = 'https://licences.example.gov.cn/provincial/chancery';

  beforeAll(async () => {
    app = await startTestApp({ PUBLIC_URL: publicUrl });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves both metadata documents at /.well-known/<name>/<path>, and nothing at another path', async () => {
    const issuer = await app.call('GET', '/.well-known/openid-credential-issuer/provincial/chancery');
    expect(issuer.status).toBe(200);
    expect(issuer.body.credential_issuer).toBe(publicUrl);
    expect(issuer.body).toEqual((await app.call('GET', '/.well-known/openid-credential-issuer')).body);
    const server = await app.call('GET', '/.well-known/oauth-authorization-server/provincial/chancery');
    expect(server.status).toBe(200);
    expect(server.body.issuer).toBe(publicUrl);

    for (const path of [
      '/.well-known/openid-credential-issuer/provincial',
      '/.well-known/openid-credential-issuer/other/chancery',
      '/.well-known/oauth-authorization-server/x',
    ]) {
      const missing = await app.call('GET', path);
      expect({ path, status: missing.status, error: missing.body.error }).toEqual({
        path,
        status: 404,
        error: 'invalid_request',
      });
    }
  });
});
