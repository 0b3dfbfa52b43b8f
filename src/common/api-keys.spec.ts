import { bearerCredentials, bearerToken, issueApiKey, parseApiKey } from './api-keys.js';

describe('API keys', () => {
  it('parses a key of its own kind into the prefix that finds the row and the secret checked by digest', () => {
    for (const kind of ['chy', 'rpk'] as const) {
      const issued = issueApiKey(kind);
      expect(issued.token.startsWith(`${kind}_`)).toBe(true);
      expect(parseApiKey(issued.token, kind)).toEqual({
        prefix: issued.prefix,
        secret: issued.token.slice(`${kind}_${issued.prefix}_`.length),
      });
      expect(parseApiKey(issued.token, kind === 'chy' ? 'rpk' : 'chy')).toBeUndefined();
    }
    expect(parseApiKey(issueApiKey().token)).toBeDefined(); // chy by default
  });

  it('refuses anything else, with the same answer many times over (no state kept between calls)', () => {
    const { token } = issueApiKey();
    for (const bad of [`${token}x`, ` ${token}`, token.replace('chy_', 'CHY_'), 'chy_short_secret', '', `${token}\n`]) {
      expect(parseApiKey(bad)).toBeUndefined();
    }
    for (let i = 0; i < 3; i++) expect(parseApiKey(token)).toBeDefined();
  });

  it('reads Bearer credentials with the scheme in any case and one or more spaces, or X-API-Key', () => {
    expect(bearerToken({ authorization: 'Bearer chy_a_b' })).toBe('chy_a_b');
    expect(bearerToken({ authorization: 'bearer chy_a_b' })).toBe('chy_a_b');
    expect(bearerToken({ authorization: 'BEARER   chy_a_b ' })).toBe('chy_a_b');
    expect(bearerToken({ 'x-api-key': ' chy_a_b ' })).toBe('chy_a_b');
    expect(bearerToken({ authorization: 'Basic abc' })).toBeUndefined();
    expect(bearerCredentials('Bearer a b')).toBeUndefined();
    expect(bearerCredentials('Bearerabc')).toBeUndefined();
    expect(bearerCredentials(undefined)).toBeUndefined();
  });
});
