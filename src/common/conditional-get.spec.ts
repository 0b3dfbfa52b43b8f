import { createHash } from 'node:crypto';
import { entityTagOf, ifNoneMatchHits } from './conditional-get.js';

describe('conditional GET', () => {
  it('tags bytes by their SHA-256, quoted (a strong tag)', () => {
    expect(entityTagOf('abc')).toBe(`"${createHash('sha256').update('abc').digest('base64url')}"`);
    expect(entityTagOf(Buffer.from('abc'))).toBe(entityTagOf('abc'));
  });

  it('matches If-None-Match by the weak comparison, in a list, and *', () => {
    const etag = entityTagOf('abc');
    expect(ifNoneMatchHits(etag, etag)).toBe(true);
    expect(ifNoneMatchHits(`W/${etag}`, etag)).toBe(true);
    expect(ifNoneMatchHits(`"x" ,  ${etag} `, etag)).toBe(true);
    expect(ifNoneMatchHits('*', etag)).toBe(true);
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
    expect(ifNoneMatchHits('', etag)).toBe(false);
    expect(ifNoneMatchHits('"x", W/"y"', etag)).toBe(false);
    expect(ifNoneMatchHits(etag.slice(1, -1), etag)).toBe(false); // unquoted: not the tag
  });
});
