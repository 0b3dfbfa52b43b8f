import { tokenRequestClientId } from './client-id.js';

describe('tokenRequestClientId', () => {
  it('reads a token request’s client_id by one rule for every grant: empty is none, a non-string or one too long is invalid_request', () => {
    expect(tokenRequestClientId(undefined)).toBeUndefined();
    expect(tokenRequestClientId('')).toBeUndefined();
    expect(tokenRequestClientId('https://wallet.example')).toBe('https://wallet.example');
    expect(tokenRequestClientId(`did:jwk:${'e'.repeat(700)}`)).toHaveLength(708);
    for (const bad of ['x'.repeat(1001), 7, ['a']])
      expect(() => tokenRequestClientId(bad)).toThrow(expect.objectContaining({ status: 400, error: 'invalid_request' }));
  });
});
