import { jest } from '@jest/globals';

type AsyncMethod = (...args: never[]) => Promise<unknown>;

/**
 * Holds the next call of `target[method]` until `release()`, then lets it run as it would have; later calls run
 * at once. `reached` resolves when the held call arrives. For tests that must observe a state the call would end.
 */
export function holdNextCall<T extends Record<K, AsyncMethod>, K extends keyof T & string>(target: T, method: K) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrive!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const original = target[method].bind(target) as AsyncMethod;
  const spy = jest.spyOn(target as unknown as Record<string, AsyncMethod>, method).mockImplementationOnce(async (...args) => {
    arrive();
    await released;
    return original(...args);
  });
  return { reached, release, spy };
}
