import { getAddress } from 'ethers';
import { LRUCache } from 'lru-cache';

/** Most addresses remembered: issuers, agencies and controllers a service meets are few. */
const MAX_ADDRESSES = 10_000;
const checksummed = new LRUCache<string, string>({ max: MAX_ADDRESSES });

/**
 * ethers' getAddress (EIP-55 checksum, keccak256 of the address) remembered per input: verification
 * meets the same issuer addresses again and again. Throws like getAddress for a wrong checksum (those
 * are never cached).
 */
export function checksumAddress(input: string): string {
  let address = checksummed.get(input);
  if (address === undefined) {
    address = getAddress(input);
    checksummed.set(input, address);
  }
  return address;
}
