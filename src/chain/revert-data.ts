import type { Interface } from 'ethers';
import { CONSORTIUM_CONTRACT_NAMES, contractInterface, type CompiledContractName } from './contracts.js';

/** The revert data of a refused eth_call, wherever ethers put it. */
export function revertData(error: unknown): string | undefined {
  let current = error as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    const data = current['data'];
    if (typeof data === 'string' && data.startsWith('0x')) return data;
    const info = current['info'] as Record<string, unknown> | undefined;
    current = (typeof data === 'object' && data !== null ? data : (info?.['error'] ?? current['error'])) as
      Record<string, unknown> | undefined;
  }
  return undefined;
}

const OUR_CONTRACTS: readonly CompiledContractName[] = [
  'TrustedIssuerRegistry',
  'StatusListAnchor',
  ...CONSORTIUM_CONTRACT_NAMES,
];
let interfaces: Interface[] | undefined;

/** The custom error of one of our contracts that a revert's data names, or 'reverted'. */
export function contractErrorName(data: string | undefined): string {
  if (!data || data.length < 10) return 'reverted';
  interfaces ??= OUR_CONTRACTS.map((name) => contractInterface(name));
  for (const abi of interfaces) {
    try {
      const parsed = abi.parseError(data);
      if (parsed) return parsed.name;
    } catch {
      // not this contract's error
    }
  }
  return 'reverted';
}
