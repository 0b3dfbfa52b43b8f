import { computeAddress } from 'ethers';
import { checksumAddress } from './checksum.js';

/** Longest DID (with a `?versionId=` query and a fragment) we look at; an ethr DID is about 80 characters. */
export const MAX_DID_LENGTH = 256;

export type DidInputError = 'invalidDid' | 'methodNotSupported' | 'notFound';

export type ParsedDid =
  | {
      ok: true;
      /** The DID (with `?versionId=N` if asked), fragment removed: the cache key and what the resolver gets. */
      did: string;
      /** Checksummed address of the identity. */
      address: string;
      versionId?: number;
    }
  | { ok: false; error: DidInputError; message: string };

const fail = (error: DidInputError, message: string): ParsedDid => ({ ok: false, error, message });

/**
 * Checks a DID string before anything reaches the chain: printable ASCII only, no %-encoding, bounded
 * length, method `ethr`, a network we serve (by name or hex chain id), an address with a valid EIP-55
 * checksum (or a valid public key), and at most a numeric `versionId` query. Pure; the messages are safe
 * to show to clients.
 */
export function parseResolvableDid(input: string, network: { name: string; chainId: number }): ParsedDid {
  if (input.length === 0 || input.length > MAX_DID_LENGTH)
    return fail('invalidDid', `a DID has 1 to ${MAX_DID_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(input)) return fail('invalidDid', 'a DID is printable ASCII without spaces');
  if (input.includes('%')) return fail('invalidDid', 'percent-encoded characters are not valid in a did:ethr');
  const withoutFragment = input.split('#')[0]!;
  const syntax = /^did:([a-z0-9]+):([A-Za-z0-9._:-]+)(?:\?([^?]*))?$/.exec(withoutFragment);
  if (!syntax) return fail('invalidDid', 'not a DID (did:<method>:<identifier>)');
  const [, method, id, query] = syntax as unknown as [string, string, string, string | undefined];
  if (method !== 'ethr') return fail('methodNotSupported', `DID method ${method} is not supported; only did:ethr`);
  const parts = /^(?:([a-zA-Z0-9_.-]+):)?(0x[0-9a-fA-F]{40}|0x[0-9a-fA-F]{66})$/.exec(id);
  if (!parts) return fail('invalidDid', 'a did:ethr names an optional network and a 0x address or public key');
  const [, networkSegment, identifier] = parts as unknown as [string, string | undefined, string];
  const served = [network.name, `0x${network.chainId.toString(16)}`];
  if (!networkSegment || !served.includes(networkSegment)) {
    return fail('notFound', `network ${networkSegment ?? 'mainnet'} is not served here; use did:ethr:${network.name}:0x…`);
  }
  let address: string;
  try {
    address = identifier.length === 42 ? checksumAddress(identifier) : computeAddress(identifier);
  } catch {
    return fail(
      'invalidDid',
      identifier.length === 42 ? 'the address has a wrong EIP-55 checksum' : 'the identifier is not a valid public key',
    );
  }
  let versionId: number | undefined;
  if (query !== undefined) {
    const version = /^versionId=(\d{1,15})$/.exec(query);
    if (!version) return fail('invalidDid', 'the only supported DID query is versionId=<block number>');
    versionId = Number(version[1]);
  }
  return { ok: true, did: withoutFragment, address, ...(versionId !== undefined ? { versionId } : {}) };
}
