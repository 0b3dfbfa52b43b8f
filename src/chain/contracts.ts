import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbiCoder, Interface, concat } from 'ethers';
import { projectRoot } from '../common/index.js';
import { ERC1056_NAME, erc1056Bytecode } from './erc1056.js';

/**
 * Contracts the running service deploys (ChainBootstrap) and relies on today. Ours are compiled from
 * contracts/*.sol (scripts/compile-contracts.mjs).
 */
export const CONTRACT_NAMES = [ERC1056_NAME, 'TrustedIssuerRegistry', 'StatusListAnchor'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

/**
 * The consortium contracts (ADR 11). They take constructor arguments, so ChainBootstrap does not deploy
 * them: consortium:init does, in the order of this list (governance first, then what it governs).
 */
export const CONSORTIUM_CONTRACT_NAMES = [
  'ConsortiumGovernance',
  'GovernedIssuerRegistry',
  'CatalogueRegistry',
  'DataSharingRegistry',
  'JointApproval',
  'AuditAnchor',
] as const;
export type ConsortiumContractName = (typeof CONSORTIUM_CONTRACT_NAMES)[number];

/** Every contract compiled from contracts/*.sol. */
export type CompiledContractName = Exclude<ContractName, typeof ERC1056_NAME> | ConsortiumContractName;

interface Artifact {
  abi: unknown[];
  bytecode: string;
}

const artifacts = new Map<string, Artifact>();
const interfaces = new Map<string, Interface>();

function artifact(name: CompiledContractName): Artifact {
  let found = artifacts.get(name);
  if (!found) {
    found = JSON.parse(readFileSync(join(projectRoot(), 'contracts', 'artifacts', `${name}.json`), 'utf8')) as Artifact;
    artifacts.set(name, found);
  }
  return found;
}

export function contractBytecode(name: ContractName | ConsortiumContractName): string {
  return name === ERC1056_NAME ? erc1056Bytecode : artifact(name).bytecode;
}

export function contractInterface(name: CompiledContractName): Interface {
  let found = interfaces.get(name);
  if (!found) {
    found = new Interface(artifact(name).abi as never);
    interfaces.set(name, found);
  }
  return found;
}

/** The data of a deploying transaction: creation bytecode followed by the ABI-encoded constructor arguments. */
export function deploymentData(name: CompiledContractName, args: readonly unknown[] = []): string {
  const inputs = contractInterface(name).deploy.inputs;
  if (inputs.length !== args.length) {
    throw new Error(`${name} takes ${inputs.length} constructor arguments, not ${args.length}`);
  }
  return concat([artifact(name).bytecode, AbiCoder.defaultAbiCoder().encode(inputs, args)]);
}
