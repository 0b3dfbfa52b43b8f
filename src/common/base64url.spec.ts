import { randomBytes, randomInt } from 'node:crypto';
import { base64urlText } from './base64url.js';

const reference = (encoded: string) => Buffer.from(encoded, 'base64url').toString('utf8');

describe('base64urlText', () => {
  it('decodes as Buffer.from does: text, random bytes, padding, characters outside the alphabet, any length', () => {
    const samples = [
      '',
      'a',
      Buffer.from('{"iss":"did:ethr:0x1","name":"Zoë 张伟 🚗"}').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64'), // standard alphabet with padding
      'e30=',
      'e3*0!',
      'ab\ncd',
    ];
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(randomInt(0, 3000));
      samples.push(bytes.toString('base64url'), bytes.toString('base64url').slice(0, randomInt(0, 4000)));
    }
    // Longer than the scratch buffer holds, and right at its edge.
    samples.push(randomBytes(200_000).toString('base64url'), randomBytes(48 * 1024).toString('base64url'));
    samples.push(randomBytes(48 * 1024 + 3).toString('base64url'));
    for (const sample of samples) expect(base64urlText(sample)).toBe(reference(sample));
  });

  it('returns text that later decodes do not change', () => {
    const first = base64urlText(Buffer.from('first credential').toString('base64url'));
    base64urlText(Buffer.from('second, longer credential').toString('base64url'));
    expect(first).toBe('first credential');
  });
});
