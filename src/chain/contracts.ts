import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Interface } from 'ethers';
import { projectRoot } from '../common/index.js';
import { ERC1056_NAME, erc1056Bytecode } from './erc1056.js';

/** Contracts the service relies on. Ours are compiled from contracts/*.sol (scripts/compile-contracts.mjs). */
export const CONTRACT_NAMES = [ERC1056_NAME, 'TrustedIssuerRegistry', 'StatusListAnchor'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

interface Artifact {
  abi: unknown[];
  bytecode: string;
}

const artifacts = new Map<string, Artifact>();

function artifact(name: Exclude<ContractName, typeof ERC1056_NAME>): Artifact {
  let found = artifacts.get(name);
  if (!found) {
    found = JSON.parse(readFileSync(join(projectRoot(), 'contracts', 'artifacts', `${name}.json`), 'utf8')) as Artifact;
    artifacts.set(name, found);
  }
  return found;
}

export function contractBytecode(name: ContractName): string {
  return name === ERC1056_NAME ? erc1056Bytecode : artifact(name).bytecode;
}

export function contractInterface(name: Exclude<ContractName, typeof ERC1056_NAME>): Interface {
  return new Interface(artifact(name).abi as never);
}
