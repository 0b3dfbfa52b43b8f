import registryArtifacts from 'ethr-did-registry';
import { Interface, encodeBytes32String, hexlify, toUtf8Bytes, type BytesLike } from 'ethers';

// ethr-did-registry is CommonJS; its named exports are not detected under ESM, hence the default import.
const artifact = (registryArtifacts as unknown as { EthereumDIDRegistry: { abi: unknown[]; bytecode: string } })
  .EthereumDIDRegistry;

export const ERC1056_NAME = 'EthereumDIDRegistry';
export const erc1056Interface = new Interface(artifact.abi as never);
export const erc1056Bytecode = artifact.bytecode;

/** Calldata for ERC-1056 setAttribute(identity, name, value, validity). Names must fit bytes32. */
export function setAttributeCall(identity: string, name: string, value: BytesLike | string, validitySeconds: number): string {
  const bytes = typeof value === 'string' && !value.startsWith('0x') ? hexlify(toUtf8Bytes(value)) : value;
  return erc1056Interface.encodeFunctionData('setAttribute', [identity, encodeBytes32String(name), bytes, validitySeconds]);
}

export function addDelegateCall(identity: string, delegateType: string, delegate: string, validitySeconds: number): string {
  return erc1056Interface.encodeFunctionData('addDelegate', [
    identity,
    encodeBytes32String(delegateType),
    delegate,
    validitySeconds,
  ]);
}

export function revokeAttributeCall(identity: string, name: string, value: BytesLike): string {
  return erc1056Interface.encodeFunctionData('revokeAttribute', [identity, encodeBytes32String(name), value]);
}

/** Topics of the events that change a DID document; topic[1] is the identity. */
export const erc1056EventTopics = ['DIDOwnerChanged', 'DIDDelegateChanged', 'DIDAttributeChanged'].map(
  (name) => erc1056Interface.getEvent(name)!.topicHash,
);
