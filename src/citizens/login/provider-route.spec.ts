import { providerRoute } from './openid-provider.js';

describe('providerRoute', () => {
  it("names the endpoint as oidc-provider's router matches it, so the rate limit counts what is served", () => {
    expect(providerRoute('/token')).toBe('/token');
    expect(providerRoute('/TOKEN/')).toBe('/token');
    expect(providerRoute('/token?x=1')).toBe('/token');
    expect(providerRoute('/token#x')).toBe('/token');
    expect(providerRoute('/Me#?x')).toBe('/me');
    expect(providerRoute('/')).toBe('/');
  });
});
