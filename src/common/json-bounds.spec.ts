import { duplicateJsonMember, hasPrototypeMember, jsonBoundsProblem, untrustedText } from './json-bounds.js';

describe('jsonBoundsProblem', () => {
  it('accepts ordinary credentials and refuses deep or huge values without recursion', () => {
    expect(jsonBoundsProblem({ a: [1, { b: 'c' }], d: null })).toBeUndefined();
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { x: deep };
    expect(jsonBoundsProblem(deep)).toMatch(/deeper than 32/);
    expect(jsonBoundsProblem(new Array(20_001).fill(0))).toMatch(/more than 20000/);
    expect(jsonBoundsProblem({ a: { b: 1 } }, { maxDepth: 1, maxNodes: 10 })).toMatch(/deeper than 1/);
  });

  it('refuses an object, at any depth, with a member named toString (String() on it would throw)', () => {
    const parsed = JSON.parse('{"typ":{"toString":0}}') as { typ: object };
    expect(() => String(parsed.typ)).toThrow(TypeError);
    expect(jsonBoundsProblem(parsed)).toBe('JSON with a member named "toString"');
    expect(jsonBoundsProblem(JSON.parse('{"toString":"x"}'))).toBe('JSON with a member named "toString"');
    expect(jsonBoundsProblem(JSON.parse('{"a":[{"b":[{"toString":null}]}]}'))).toBe('JSON with a member named "toString"');
    // As a value or inside a string it is harmless.
    expect(jsonBoundsProblem(JSON.parse('{"name":"toString","list":["toString"],"valueOf":1}'))).toBeUndefined();
  });
});

describe('untrustedText', () => {
  it('shows any parsed JSON value as bounded text, never throwing', () => {
    expect(untrustedText('vc+jwt')).toBe('vc+jwt');
    expect(untrustedText('x'.repeat(100))).toBe('x'.repeat(40));
    expect(untrustedText('x'.repeat(300), 200)).toHaveLength(200);
    expect(untrustedText(JSON.parse('{"toString":0}'))).toBe('{"toString":0}');
    expect(untrustedText(JSON.parse('{"toJSON":0,"a":1}'))).toBe('{"toJSON":0,"a":1}');
    expect(untrustedText(7)).toBe('7');
    expect(untrustedText(null)).toBe('null');
    expect(untrustedText(undefined)).toBe('undefined');
    expect(untrustedText([1, 'a'])).toBe('[1,"a"]');
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

  it('ends a string only at a quote preceded by an even run of backslashes', () => {
    // A value ending in an escaped backslash, then the next member.
    expect(duplicateJsonMember(JSON.stringify({ x: 'a\\', y: 1 }).replace('"y"', '"x"'))).toBe('x');
    // A value holding an escaped quote after backslashes: the key inside it is not a member.
    expect(duplicateJsonMember(JSON.stringify({ x: '\\"x":1', y: 1 }))).toBeUndefined();
    expect(duplicateJsonMember(JSON.stringify({ 'k\\': 1 }).replace('}', ',"k\\\\":2}'))).toBe('k\\');
    expect(duplicateJsonMember('{"a":"unterminated')).toBeUndefined();
  });

  it('finds exactly the repeated names of random texts with nested objects, arrays and escapes', () => {
    const names = ['a', 'b', 'a"', 'a\\', '\\', '\\"', 'é', '', '{', ','];
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    const count = (most: number) => Math.floor(Math.random() * (most + 1));
    // Builds a JSON text and collects the names each object repeats (the expected answer).
    const repeatedNames = new Set<string>();
    const value = (depth: number): string => {
      const kind = Math.floor(Math.random() * (depth > 3 ? 2 : 4));
      if (kind === 0) return JSON.stringify(pick(names) + pick(names));
      if (kind === 1) return String(count(100));
      if (kind === 2) return `[${Array.from({ length: count(3) }, () => value(depth + 1)).join(',')}]`;
      return object(depth + 1);
    };
    const object = (depth: number): string => {
      const members = Array.from({ length: count(3) }, () => pick(names));
      members.forEach((name, index) => {
        if (members.indexOf(name) !== index) repeatedNames.add(name);
      });
      return `{${members.map((name) => `${JSON.stringify(name)}:${value(depth)}`).join(',')}}`;
    };
    for (let i = 0; i < 2_000; i++) {
      repeatedNames.clear();
      const text = object(1);
      expect(() => JSON.parse(text)).not.toThrow();
      const found = duplicateJsonMember(text);
      if (repeatedNames.size === 0) expect(found).toBeUndefined();
      else expect(repeatedNames).toContain(found);
    }
  });
});

describe('hasPrototypeMember', () => {
  it('finds a member named __proto__ at any depth, escaped or not, and not a value that only spells it', () => {
    expect(hasPrototypeMember('{"a":1,"__proto__":[]}')).toBe(true);
    expect(hasPrototypeMember('{"a":[{"b":{"\\u005f_proto__":1}}]}')).toBe(true);
    expect(hasPrototypeMember('{"a":"__proto__","b":["__proto__"]}')).toBe(false);
    expect(hasPrototypeMember('{"constructor":1}')).toBe(false);
    expect(hasPrototypeMember('{"__proto__":')).toBe(false);
    // Deeper than the reviver's walk can go (a parse without one takes it): refused rather than let through.
    const deep = `{"a":${'['.repeat(200_000)}${']'.repeat(200_000)},"__proto__":1}`;
    expect(() => JSON.parse(deep) as unknown).not.toThrow();
    expect(hasPrototypeMember(deep)).toBe(true);
  });
});
