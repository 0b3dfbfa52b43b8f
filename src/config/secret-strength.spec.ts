import { randomBytes } from 'node:crypto';
import {
  estimatedEntropyBits,
  isWeakSecret,
  MIN_OPERATOR_KEY_BITS,
  MIN_OPERATOR_KEY_LENGTH,
  secretStrengthProblems,
} from './secret-strength.js';

const weak = (value: string) => isWeakSecret(value, MIN_OPERATOR_KEY_LENGTH, MIN_OPERATOR_KEY_BITS);

describe('secret strength (production start-up rules)', () => {
  it('estimates no entropy for one repeated character and full entropy for distinct ones', () => {
    expect(estimatedEntropyBits('a'.repeat(64))).toBe(0);
    expect(estimatedEntropyBits('abcd')).toBe(8);
  });

  it('accepts generated keys', () => {
    for (let i = 0; i < 20; i++) expect(weak(randomBytes(32).toString('base64'))).toBe(false);
  });

  it.each([
    ['too short', 'aB3$kL9#qW'],
    ['small alphabet', 'abababababbababaabbaabababbababababa'],
    ['a pattern repeated', 'Xy7$Qp2!'.repeat(6)],
    ['one character', 'z'.repeat(48)],
  ])('refuses a typed secret (%s)', (_label, value) => {
    expect(weak(value)).toBe(true);
  });

  it('names each weak secret once, and nothing for strong or unset ones', () => {
    const strongKey = randomBytes(32).toString('base64');
    expect(secretStrengthProblems({ OPERATOR_API_KEY: strongKey, KMS_MASTER_KEY: strongKey })).toEqual([]);
    expect(secretStrengthProblems({})).toEqual([]);
    const problems = secretStrengthProblems({
      OPERATOR_API_KEY: 'password'.repeat(5),
      KMS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(['OPERATOR_API_KEY', 'KMS_MASTER_KEY']);
  });
});
