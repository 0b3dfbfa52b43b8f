import { duplicateJsonMember, jsonBoundsProblem } from './json-bounds.js';

describe('jsonBoundsProblem', () => {
  it('accepts ordinary credentials and refuses deep or huge values without recursion', () => {
    expect(jsonBoundsProblem({ a: [1, { b: 'c' }], d: null })).toBeUndefined();
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { x: deep };
    expect(jsonBoundsProblem(deep)).toMatch(/deeper than 32/);
    expect(jsonBoundsProblem(new Array(20_001).fill(0))).toMatch(/more than 20000/);
    expect(jsonBoundsProblem({ a: { b: 1 } }, { maxDepth: 1, maxNodes: 10 })).toMatch(/deeper than 1/);
  });
});

describe('duplicateJsonMember', () => {
  it('finds a member repeated in any object, ignoring strings that look like keys', () => {
    expect(duplicateJsonMember('{"alg":"ES256","alg":"none"}')).toBe('alg');
    expect(duplicateJsonMember('{"jwk":{"x":"1","x":"2"},"alg":"ES256"}')).toBe('x');
    expect(duplicateJsonMember('{"a":"\\"a\\"","b":["a","a"],"c":{"a":1},"a2":{"a":1}}')).toBeUndefined();
    expect(duplicateJsonMember('{"a":1,"\\u0061":2}')).toBe('a');
    expect(duplicateJsonMember('{"\\u0061":1,"b":{"a":0},"a":2}')).toBe('a');
    expect(duplicateJsonMember('{"a\\"b":1,"a\\u0022b":2}')).toBe('a"b');
    expect(duplicateJsonMember('[{"a":1},{"a":2}]')).toBeUndefined();
  });
});
