/**
 * `{ ...base, ...extra }`, built so that objects with the same keys share one hidden class.
 *
 * Node 20's V8 (11.3) gives an object literal that starts with a spread and then adds members (`{ ...base, x }`,
 * or a spread copy that is assigned a new member afterwards) a hidden class of its own every time: the copy's
 * class cannot hold transitions, so each added member makes a new one (`--log-maps` shows a `Transition` per
 * object). That costs ~1 µs and a ~72-byte map in the old generation per object, only freed by a full
 * collection, and leaves every property access that meets such objects megamorphic. Starting from an empty
 * literal keeps the transitions shared. Members are defined, as by a spread (an own `__proto__` stays data).
 * ADR 33; on per-request paths use this instead of a literal that starts with a spread.
 */
/** `A` with `B`'s members over it (a mapped type rather than `Omit`, which would drop an index signature's known keys). */
export type Merged<A, B> = { [K in keyof A as K extends keyof B ? never : K]: A[K] } & B;

export const merged = <A extends object, B extends object>(base: A, extra: B): Merged<A, B> => ({
  ...{},
  ...base,
  ...extra,
});
