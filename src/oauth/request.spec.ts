import { requestLike } from './request.js';

describe('requestLike', () => {
  it('puts the path (without query) under our public URL and keeps every header, lists joined', () => {
    const request = requestLike('https://issuer.example', 'POST', '/oid4vci/token?x=1', {
      dpop: 'proof',
      'x-list': ['a', 'b'],
      absent: undefined,
    });
    expect(request.url).toBe('https://issuer.example/oid4vci/token');
    expect(request.method).toBe('POST');
    expect(request.headers.get('dpop')).toBe('proof');
    expect(request.headers.get('x-list')).toBe('a, b');
    expect(request.headers.has('absent')).toBe(false);
  });
});
