import { checksumAddress } from './checksum.js';
import { setAttributeCall, type ChainWrite } from '../chain/index.js';

/**
 * ERC-1056 attribute names (they must fit bytes32). The credential-signing key is published as a
 * JsonWebKey2020-typed attribute because ethr-did-resolver names the method after the attribute's
 * algorithm segment, and did-jwt accepts JsonWebKey2020 for ES256; the key itself is the hex-encoded
 * uncompressed P-256 point (publicKeyHex). See docs/adr/0004-agency-did-documents.md.
 */
export const SIGNING_KEY_ATTRIBUTE = 'did/pub/JsonWebKey2020/veriKey';
export const SERVICE_ATTRIBUTE = 'did/svc/LinkedDomains';

export function ethrDid(networkName: string, address: string): string {
  return `did:ethr:${networkName}:${checksumAddress(address)}`;
}

/** The address part of a did:ethr (with or without a network segment), checksummed; undefined if not one. */
export function ethrDidAddress(did: string): string | undefined {
  const match = /^did:ethr:(?:[a-zA-Z0-9_.-]+:)?(0x[0-9a-fA-F]{40})(?:[#?/].*)?$/.exec(did);
  if (!match) return undefined;
  try {
    return checksumAddress(match[1]!);
  } catch {
    return undefined; // mixed case with a wrong EIP-55 checksum
  }
}

export interface AgencyDidPlan {
  identity: string;
  controllerKeyId: string;
  signingPublicKeyHex: string;
  serviceEndpoint: string;
  validitySeconds: number;
  registry: string;
  ref: string;
}

/** The chain writes that publish an agency's DID document: its ES256 key and its service endpoint. */
export function agencyDidWrites(plan: AgencyDidPlan): ChainWrite[] {
  const common = { signerKeyId: plan.controllerKeyId, to: plan.registry, ref: plan.ref };
  return [
    {
      ...common,
      purpose: 'did:add-signing-key',
      data: setAttributeCall(plan.identity, SIGNING_KEY_ATTRIBUTE, '0x' + plan.signingPublicKeyHex, plan.validitySeconds),
    },
    {
      ...common,
      purpose: 'did:add-service',
      data: setAttributeCall(plan.identity, SERVICE_ATTRIBUTE, plan.serviceEndpoint, plan.validitySeconds),
    },
  ];
}
