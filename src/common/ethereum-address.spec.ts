import { z } from 'zod';
import { ethereumAddressSchema, isEthereumAddress } from './ethereum-address.js';

describe('Ethereum addresses', () => {
  it('accepts lower, upper and correctly checksummed addresses; refuses a wrong checksum and other shapes', () => {
    expect(isEthereumAddress('0x' + 'ab'.repeat(20))).toBe(true);
    expect(isEthereumAddress('0x' + 'AB'.repeat(20))).toBe(true);
    expect(isEthereumAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toBe(true);
    expect(isEthereumAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')).toBe(false);
    expect(isEthereumAddress('0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa')).toBe(false);
    expect(isEthereumAddress('0x1234')).toBe(false);
    expect(isEthereumAddress(42)).toBe(false);
    expect(
      ethereumAddressSchema.safeParse('0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa').error?.issues.map((i) => i.message),
    ).toEqual(['has a wrong EIP-55 checksum (mixed case)']);
    expect(ethereumAddressSchema.safeParse('0x12').error?.issues.map((i) => i.message)).toEqual([
      'must be a 0x-prefixed address',
    ]);
    expect(z.toJSONSchema(ethereumAddressSchema)).toMatchObject({ type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' });
  });
});
