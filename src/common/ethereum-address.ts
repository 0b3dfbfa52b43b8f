import { isAddress } from 'ethers';
import { z } from 'zod';

/** 0x and 40 hex digits, either case: the shape before the checksum is looked at. */
export const ADDRESS_PATTERN = /^0x[0-9a-fA-F]{40}$/;

/**
 * A 0x-prefixed 20-byte address, all lower or all upper case, or mixed case with a valid EIP-55 checksum: a
 * mixed-case address with a wrong checksum is a typo to refuse (400), not one to guess or to fail on later.
 */
export function isEthereumAddress(value: unknown): value is string {
  return typeof value === 'string' && ADDRESS_PATTERN.test(value) && isAddress(value);
}

export const ethereumAddressSchema = z
  .string()
  // The pattern stays in the OpenAPI document; the checksum is checked only when the pattern holds.
  .regex(ADDRESS_PATTERN, { message: 'must be a 0x-prefixed address', abort: true })
  .refine(isEthereumAddress, 'has a wrong EIP-55 checksum (mixed case)');
