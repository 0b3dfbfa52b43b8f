import { execFileSync } from 'node:child_process';
import { merged } from './merged.js';

/**
 * Runs `body` in a fresh Node with V8's natives syntax (%HaveSameMap), `merged` compiled as the service has it,
 * and returns what it prints.
 */
function inV8(body: string): string {
  const script = `const merged = ${merged.toString()};\n${body}`;
  return execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8' }).trim();
}

describe('merged', () => {
  it('is { ...base, ...extra }: extra wins, the key order of a spread, undefined members kept', () => {
    const base = { a: 1, b: 2, c: undefined };
    const out = merged(base, { b: 3, d: undefined });
    expect(out).toEqual({ a: 1, b: 3, c: undefined, d: undefined });
    expect(Object.keys(out)).toEqual(['a', 'b', 'c', 'd']);
    expect(out).not.toBe(base);
    expect(base).toEqual({ a: 1, b: 2, c: undefined });
  });

  it('defines members as a spread does: an own __proto__ of parsed input stays data and sets no prototype', () => {
    const untrusted = JSON.parse('{"__proto__": {"polluted": true}, "name": "x"}') as object;
    const out = merged(untrusted, { extra: 1 }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'name', 'extra']);
    expect(out['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('gives objects made from the same keys one hidden class (V8 leaves none to collect per object)', () => {
    const printed = inV8(`
      const make = (i) => ({ passed: true, state: 'valid' + i });
      for (let i = 0; i < 1000; i++) merged(make(i), { anchored: true });
      console.log(%HaveSameMap(merged(make(1), { anchored: true }), merged(make(2), { anchored: false })));
      console.log(%HaveSameMap(merged({ alg: 'ES256', kid: 'a' }, { typ: 'x' }), merged({ alg: 'ES256', kid: 'b' }, { typ: 'y' })));
    `);
    expect(printed.split('\n')).toEqual(['true', 'true']);
  });

  it('works around this Node: a literal that starts with a spread and adds members makes a hidden class per object', () => {
    // When a Node upgrade makes this false, V8 shares these classes itself and `merged` (ADR 33) can go.
    const printed = inV8(`
      const make = (i) => ({ passed: true, state: 'valid' + i });
      for (let i = 0; i < 1000; i++) ({ ...make(i), anchored: true });
      console.log(%HaveSameMap({ ...make(1), anchored: true }, { ...make(2), anchored: true }));
    `);
    expect(printed).toBe('false');
  });
});
