import { Injectable } from '@nestjs/common';
import { keccak256, toUtf8Bytes } from 'ethers';
import { BoundedCache } from '../common/index.js';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { ChainEvents } from './chain-events.js';
import { contractInterface } from './contracts.js';
import type { ChainWrite } from './outbox.service.js';

const trustedIssuers = () => contractInterface('TrustedIssuerRegistry');

/** The registry key of a catalogue credential type. */
export const credentialTypeKey = (typeId: string): string => keccak256(toUtf8Bytes(typeId));

/** Most (issuer, type) answers kept; the least recently used goes first. */
export const TRUSTED_ISSUER_CACHE_MAX_ENTRIES = 10_000;

/**
 * Reads and writes the on-chain trusted-issuer registry (which agency may issue which credential type).
 * Answers live in a bounded LRU cache with TTL; concurrent questions about one pair share one chain call;
 * an IssuerAuthorisation event evicts the issuer's entries at once, the TTL bounds the rest.
 */
@Injectable()
export class TrustedIssuerRegistry {
  private readonly cache = new BoundedCache<{ authorised: boolean }>({
    maxEntries: TRUSTED_ISSUER_CACHE_MAX_ENTRIES,
    ttlMs: 60_000,
  });

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    events: ChainEvents,
  ) {
    events.onIdentityChanged((identity) => {
      const prefix = identity.toLowerCase() + ':';
      this.cache.deleteWhere((key) => key.startsWith(prefix));
    });
  }

  /** The outbox write that grants or withdraws an authorisation; the governor signs it. */
  async authorisationWrite(issuerAddress: string, typeId: string, authorised: boolean, ref: string): Promise<ChainWrite> {
    return {
      signerKeyId: await this.bootstrap.governorKeyId(),
      to: this.bootstrap.address('TrustedIssuerRegistry'),
      data: trustedIssuers().encodeFunctionData('setAuthorised', [issuerAddress, credentialTypeKey(typeId), authorised]),
      purpose: authorised ? 'trust:authorise' : 'trust:withdraw',
      ref,
    };
  }

  async isAuthorised(issuerAddress: string, typeId: string): Promise<boolean> {
    const key = `${issuerAddress.toLowerCase()}:${typeId}`;
    const { authorised } = await this.cache.get(key, async () => {
      const contract = trustedIssuers();
      const data = contract.encodeFunctionData('isAuthorised', [issuerAddress, credentialTypeKey(typeId)]);
      const result = await this.chain.provider.call({ to: this.bootstrap.address('TrustedIssuerRegistry'), data });
      return { authorised: Boolean(contract.decodeFunctionResult('isAuthorised', result)[0]) };
    });
    return authorised;
  }

  /** The authorised flag a setAuthorised write carries, or undefined for other calldata. */
  decodeAuthorisationWrite(data: string): boolean | undefined {
    try {
      const call = trustedIssuers().parseTransaction({ data });
      return call?.name === 'setAuthorised' ? Boolean(call.args[2]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The registry's current answer, bypassing every cache (for the reconciler). */
  async isAuthorisedOnChain(issuerAddress: string, typeId: string): Promise<boolean> {
    const contract = trustedIssuers();
    const data = contract.encodeFunctionData('isAuthorised', [issuerAddress, credentialTypeKey(typeId)]);
    const result = await this.chain.provider.call({ to: this.bootstrap.address('TrustedIssuerRegistry'), data });
    return Boolean(contract.decodeFunctionResult('isAuthorised', result)[0]);
  }
}
