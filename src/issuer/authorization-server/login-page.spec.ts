import { loginPage } from './login-page.js';

describe('the authorization server login page', () => {
  const page = loginPage({
    agencyName: 'A',
    typeName: 'T',
    clientId: 'wallet',
    requestUri: 'urn:ietf:params:oauth:request_uri:x',
  });

  it('posts back to the authorization endpoint it was opened at, also under a path', () => {
    const action = /<form method="post" action="([^"]*)">/.exec(page)?.[1];
    expect(action).toBeDefined();
    for (const base of ['https://host', 'https://host/base'])
      expect(new URL(action!, `${base}/oid4vci/authorize?client_id=wallet&request_uri=x`).href).toBe(`${base}/oid4vci/authorize`);
  });
});
