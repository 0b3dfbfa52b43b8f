import { setFlagsFromString } from 'node:v8';

// V8's natives syntax, for %HaveSameMap: a flag read when a function is compiled, so turning it on here (test
// processes only) lets the Function below be parsed.
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;

/**
 * Whether `make` gives two objects one hidden class once its code is warm. The warm-up matters: Node 20's V8 gives a
 * literal that starts with a spread and adds members a shared class while its inline cache is cold, and a class
 * per object once it is warm (ADR 33).
 */
export function sharesHiddenClass(make: (i: number) => object, warmUp = 2_000): boolean {
  for (let i = 0; i < warmUp; i++) make(i);
  return haveSameMap(make(warmUp), make(warmUp + 1));
}
