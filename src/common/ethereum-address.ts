import { isAddress } from 'ethers';
import { z } from 'zod';

/**
 * A 0x-prefixed 20-byte address, all lower or all upper case, or mixed case with a valid EIP-55 checksum: a
 * mixed-case address with a wrong checksum is a typo to refuse (400), not one to guess or to fail on later.
 */
export function isEthereumAddress(value: unknown): value is string {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value) && isAddress(value);
}

export const ethereumAddressSchema = z
  .string()
  // The pattern stays in the OpenAPI document; the checksum is checked only when the pattern holds.
  .regex(/^0x[0-9a-fA-F]{40}$/, { message: 'must be a 0x-prefixed address', abort: true })
  .refine(isEthereumAddress, 'has a wrong EIP-55 checksum (mixed case)');
