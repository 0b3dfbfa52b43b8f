import { notFormBody, notJsonBody, requestLike } from './request.js';

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

describe('notJsonBody', () => {
  it('is true only for a body of another media type than JSON', () => {
    const typed = (type?: string) => new Headers(type === undefined ? {} : { 'content-type': type });
    expect(notJsonBody(typed('application/json'))).toBe(false);
    expect(notJsonBody(typed('Application/JSON; charset=utf-8'))).toBe(false);
    expect(notJsonBody(typed('application/merge-patch+json'))).toBe(false);
    expect(notJsonBody(typed())).toBe(false);
    expect(notJsonBody(typed('application/x-www-form-urlencoded'))).toBe(true);
    expect(notJsonBody(typed('text/json'))).toBe(true);
  });
});

describe('notFormBody', () => {
  it('is true only for a body of another media type than a form', () => {
    const typed = (type?: string) => new Headers(type === undefined ? {} : { 'content-type': type });
    expect(notFormBody(typed('application/x-www-form-urlencoded'))).toBe(false);
    expect(notFormBody(typed('Application/X-WWW-Form-Urlencoded; charset=UTF-8'))).toBe(false);
    expect(notFormBody(typed())).toBe(false);
    for (const other of ['application/json', 'multipart/form-data; boundary=x', 'text/plain', ''])
      expect(notFormBody(typed(other))).toBe(true);
  });
});
