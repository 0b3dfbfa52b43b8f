import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';

/** W3C Bitstring Status List minimum (16 KB), also used for token lists: it hides how many were issued. */
export const LIST_SIZE = 131_072;

/** Token Status List values (draft-ietf-oauth-status-list §7.1). */
export const TOKEN_STATUS = { valid: 0, invalid: 1, suspended: 2 } as const;

/** W3C Bitstring Status List: index 0 is the left-most (most significant) bit; GZIP, multibase base64url. */
export function encodeBitstring(size: number, setIndices: Iterable<number>): string {
  const bytes = Buffer.alloc(size / 8);
  for (const index of setIndices) bytes[index >> 3]! |= 0x80 >> (index & 7);
  return 'u' + gzipSync(bytes).toString('base64url');
}

export function bitstringStatus(encodedList: string, index: number): number {
  return bitstringAt(inflateBitstring(encodedList), index);
}

/** The decompressed bytes of a W3C encodedList (kept by the status-list memo). */
export function inflateBitstring(encodedList: string): Buffer {
  if (!encodedList.startsWith('u')) throw new Error('encodedList is not multibase base64url');
  return gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'), { maxOutputLength: 16 * 1024 * 1024 });
}

export function bitstringAt(bytes: Uint8Array, index: number): number {
  if (index < 0 || index >= bytes.length * 8) throw new Error('status index outside the list');
  return (bytes[index >> 3]! >> (7 - (index & 7))) & 1;
}

/** IETF Token Status List: `bits` per entry, least significant first within each byte; ZLIB, base64url. */
export function encodeTokenList(
  size: number,
  bits: 1 | 2 | 4 | 8,
  statuses: Iterable<[number, number]>,
): { bits: number; lst: string } {
  const bytes = Buffer.alloc((size * bits) / 8);
  for (const [index, value] of statuses) {
    const bit = index * bits;
    bytes[bit >> 3]! |= value << (bit & 7);
  }
  // The highest level, as draft-ietf-oauth-status-list recommends: a list is compressed once per version, fetched often.
  return { bits, lst: deflateSync(bytes, { level: 9 }).toString('base64url') };
}

export function tokenListStatus(list: { bits: number; lst: string }, index: number): number {
  return tokenListAt(inflateTokenList(list), list.bits, index);
}

/** The decompressed bytes of a Token Status List `lst` (kept by the status-list memo). */
export function inflateTokenList(list: { lst: string }): Buffer {
  return inflateSync(Buffer.from(list.lst, 'base64url'), { maxOutputLength: 16 * 1024 * 1024 });
}

export function tokenListAt(bytes: Uint8Array, bits: number, index: number): number {
  const bit = index * bits;
  if (!Number.isInteger(index) || index < 0 || bit >= bytes.length * 8) throw new Error('status index outside the list');
  return (bytes[bit >> 3]! >> (bit & 7)) & ((1 << bits) - 1);
}
