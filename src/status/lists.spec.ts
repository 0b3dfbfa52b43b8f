import { decodeList } from '@digitalbazaar/vc-bitstring-status-list';
import { StatusList } from '@sd-jwt/jwt-status-list';
import { bitstringStatus, encodeBitstring, encodeTokenList, LIST_SIZE, tokenListStatus } from './lists.js';

describe('status list encodings, cross-checked with the reference decoders', () => {
  it('writes W3C bitstrings that @digitalbazaar/vc-bitstring-status-list reads', async () => {
    const set = [0, 7, 8, 4242, LIST_SIZE - 1];
    const encoded = encodeBitstring(LIST_SIZE, set);
    const decoded = await decodeList({ encodedList: encoded });
    for (const index of [...set, 1, 6, 9, 4241, LIST_SIZE - 2]) {
      expect(decoded.getStatus(index)).toBe(set.includes(index));
      expect(bitstringStatus(encoded, index)).toBe(set.includes(index) ? 1 : 0);
    }
  });

  it('writes 2-bit token lists that @sd-jwt/jwt-status-list reads', () => {
    const statuses: [number, number][] = [
      [1, 1],
      [2, 2],
      [5000, 1],
      [LIST_SIZE - 1, 2],
    ];
    const list = encodeTokenList(LIST_SIZE, 2, statuses);
    const reference = StatusList.decompressStatusList(list.lst, 2);
    for (const [index, value] of [...statuses, [0, 0], [3, 0]] as [number, number][]) {
      expect(reference.getStatus(index)).toBe(value);
      expect(tokenListStatus(list, index)).toBe(value);
    }
  });
});
