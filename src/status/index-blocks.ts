import { randomInt } from 'node:crypto';

/** Indices per reserved block: a list of 131,072 holds 512, of which half at most are reserved (MAX_FILL). */
export const INDEX_BLOCK = 256;

/** A block this process reserved: its indices not handed out yet, in random order. */
export interface OpenBlock {
  listId: string;
  signingKid: string;
  block: number;
  free: number[];
}

/** The indices of a block minus those already written, shuffled (Fisher–Yates with a CSPRNG). */
export function openBlock(listId: string, signingKid: string, block: number, written: Iterable<number>): OpenBlock {
  const taken = new Set(written);
  const free: number[] = [];
  for (let idx = block * INDEX_BLOCK; idx < (block + 1) * INDEX_BLOCK; idx++) if (!taken.has(idx)) free.push(idx);
  for (let i = free.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  return { listId, signingKid, block, free };
}

/** A random block of a list that nobody reserved yet, or undefined when the list has none left. */
export function pickFreeBlock(listSize: number, reserved: Iterable<number>): number | undefined {
  const taken = new Set(reserved);
  const free: number[] = [];
  for (let block = 0; block < listSize / INDEX_BLOCK; block++) if (!taken.has(block)) free.push(block);
  return free.length ? free[randomInt(0, free.length)] : undefined;
}
