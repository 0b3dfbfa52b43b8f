import { getAddress, keccak256, ZeroAddress } from 'ethers';
import { ChainUnavailableError, type ChainClient } from './chain.client.js';
import { contractInterface } from './contracts.js';
import { bindTargetsCall, governanceDeployment, governedDeployment, type GovernedTargets } from './consortium-governance.js';
import type { OutboxEntry } from './outbox.service.js';

/** The consortium a department follows (ADR 15): its governance and the registries it governs. */
export interface ConsortiumAddresses extends GovernedTargets {
  governance: string;
}

export interface Founder {
  member: string;
  name: string;
}

/** What this department deploys a consortium with: itself first, then the other founders. */
export interface ConsortiumFounding {
  founders: Founder[];
  threshold: number;
}

const governance = () => contractInterface('ConsortiumGovernance');

/** The address given names no usable consortium governance: the message says why, in words fit for the operator. */
export class NotAConsortium extends Error {}

/** The registries a governance contract governs, read from its views; refuses one that is not bound. */
export async function readConsortium(chain: ChainClient, governanceAddress: string): Promise<ConsortiumAddresses> {
  if (!(await chain.hasCode(governanceAddress))) {
    throw new NotAConsortium(`No consortium governance at ${governanceAddress} on chain ${chain.chainId}`);
  }
  const read = async (name: 'issuerRegistry' | 'catalogue' | 'dataSharing' | 'jointApproval') => {
    let address: string;
    try {
      const result = await chain.provider.call({ to: governanceAddress, data: governance().encodeFunctionData(name) });
      address = getAddress(governance().decodeFunctionResult(name, result)[0] as string);
    } catch (error) {
      // Another contract reverts or answers something else: say so, without the library's message (call data, version).
      if (error instanceof ChainUnavailableError) throw error;
      throw new NotAConsortium(`The contract at ${governanceAddress} is not a consortium governance`);
    }
    if (address === ZeroAddress)
      throw new NotAConsortium(`The consortium governance at ${governanceAddress} has no ${name} bound yet`);
    return address;
  };
  return {
    governance: getAddress(governanceAddress),
    issuerRegistry: await read('issuerRegistry'),
    catalogue: await read('catalogue'),
    dataSharing: await read('dataSharing'),
    jointApproval: await read('jointApproval'),
  };
}

/** Each registry a governance binds, with the contract of this release it must be. */
const REGISTRY_CONTRACTS = [
  ['issuerRegistry', 'GovernedIssuerRegistry'],
  ['catalogue', 'CatalogueRegistry'],
  ['dataSharing', 'DataSharingRegistry'],
  ['jointApproval', 'JointApproval'],
] as const;

/**
 * Refuses to follow a consortium whose contracts are not this release's, before a department joins it. The governance
 * only checks that a registry it binds names it as governance, which any contract can claim: its founder could bind
 * look-alike registries (an issuer registry that authorises its own agencies, a data-sharing registry that permits
 * everything) and so decide alone what every member's service trusts. Each contract's code on chain must equal what
 * this release's creation code makes (an eth_call of the deployment returns it), with its immutables filled in: the
 * governance's deployer, a registry's governance.
 */
export async function verifyConsortiumCode(chain: ChainClient, addresses: ConsortiumAddresses): Promise<void> {
  const made = async (data: string, from?: string) => {
    try {
      return keccak256(await chain.provider.call({ data, ...(from ? { from } : {}) }));
    } catch (error) {
      if (error instanceof ChainUnavailableError) throw error;
      // The node would not simulate the deployment: nothing is known of the code, which is not the same as a mismatch.
      throw new ConsortiumCodeUnchecked('the chain node refused to simulate the deployment of this release’s contracts');
    }
  };
  const onChain = async (address: string) => keccak256(await chain.provider.getCode(address));
  const differs = (what: string, address: string, contract: string) =>
    new NotAConsortium(
      `The ${what} at ${address} is not the ${contract} of this release (its code differs): this department will not ` +
        `follow it (a consortium's members must run contracts of the same release)`,
    );
  let deployer: string;
  try {
    const result = await chain.provider.call({ to: addresses.governance, data: governance().encodeFunctionData('deployer') });
    deployer = getAddress(governance().decodeFunctionResult('deployer', result)[0] as string);
  } catch (error) {
    if (error instanceof ChainUnavailableError) throw error;
    throw differs('consortium governance', addresses.governance, 'ConsortiumGovernance');
  }
  // The governance's runtime code holds only its deployer (immutable); founders and threshold are storage.
  const governanceCode = await made(governanceDeployment([{ member: deployer, name: 'code check' }], 1), deployer);
  if (governanceCode !== (await onChain(addresses.governance)))
    throw differs('consortium governance', addresses.governance, 'ConsortiumGovernance');
  for (const [key, contract] of REGISTRY_CONTRACTS) {
    const expected = await made(governedDeployment(contract, addresses.governance));
    if (expected !== (await onChain(addresses[key]))) throw differs(`${key} the governance binds`, addresses[key], contract);
  }
}

/** The code of a consortium's contracts could not be compared (the node refused the simulated deployment). */
export class ConsortiumCodeUnchecked extends NotAConsortium {
  constructor(reason: string) {
    super(`The consortium's contract code could not be checked: ${reason}`);
  }
}

/** Sends one write through the outbox (or finds the one already sent for it) and waits until it is final. */
export type ConsortiumWrite = (write: { purpose: string; to: string | null; data: string }) => Promise<OutboxEntry>;

const GOVERNED = ['GovernedIssuerRegistry', 'CatalogueRegistry', 'DataSharingRegistry', 'JointApproval'] as const;

/**
 * Deploys a consortium through the outbox, in the order of ADR 11: the governance with its founders,
 * then the four registries naming it, then bindTargets by the same key. AuditAnchor is deployed by the
 * audit module, not here. Every step is found again when re-run (crash half-way), so this is idempotent.
 */
export async function deployConsortium(send: ConsortiumWrite, founding: ConsortiumFounding): Promise<ConsortiumAddresses> {
  const deployed = async (name: string, data: string) => {
    const entry = await send({ purpose: `deploy:${name}`, to: null, data });
    if (entry.status !== 'mined' || !entry.contractAddress) throw new Error(`Deploying ${name} failed: ${entry.lastError}`);
    return getAddress(entry.contractAddress);
  };
  const governanceAddress = await deployed('ConsortiumGovernance', governanceDeployment(founding.founders, founding.threshold));
  const [issuerRegistry, catalogue, dataSharing, jointApproval] = await Promise.all(
    GOVERNED.map((name) => deployed(name, governedDeployment(name, governanceAddress))),
  );
  const targets = {
    issuerRegistry: issuerRegistry!,
    catalogue: catalogue!,
    dataSharing: dataSharing!,
    jointApproval: jointApproval!,
  };
  const bound = await send({ purpose: 'consortium:bind', to: governanceAddress, data: bindTargetsCall(targets) });
  if (bound.status !== 'mined') throw new Error(`Binding the consortium registries failed: ${bound.lastError}`);
  return { governance: governanceAddress, ...targets };
}
