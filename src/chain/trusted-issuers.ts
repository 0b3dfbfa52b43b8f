import { Injectable } from '@nestjs/common';
import { keccak256, toUtf8Bytes } from 'ethers';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { ChainEvents } from './chain-events.js';
import { contractInterface } from './contracts.js';
import type { ChainWrite } from './outbox.service.js';

const trustedIssuers = () => contractInterface('TrustedIssuerRegistry');

/** The registry key of a catalogue credential type. */
export const credentialTypeKey = (typeId: string): string => keccak256(toUtf8Bytes(typeId));

/**
 * Reads and writes the on-chain trusted-issuer registry (which agency may issue which credential type).
 * Answers are cached; an IssuerAuthorisation event evicts the issuer's entries, the TTL bounds the rest.
 */
@Injectable()
export class TrustedIssuerRegistry {
  private readonly cache = new Map<string, { authorised: boolean; expiresAt: number }>();
  private readonly ttlMs = 60_000;

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    events: ChainEvents,
  ) {
    events.onIdentityChanged((identity) => {
      const prefix = identity.toLowerCase() + ':';
      for (const key of this.cache.keys()) if (key.startsWith(prefix)) this.cache.delete(key);
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
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.authorised;
    const contract = trustedIssuers();
    const data = contract.encodeFunctionData('isAuthorised', [issuerAddress, credentialTypeKey(typeId)]);
    const result = await this.chain.provider.call({ to: this.bootstrap.address('TrustedIssuerRegistry'), data });
    const authorised = Boolean(contract.decodeFunctionResult('isAuthorised', result)[0]);
    this.cache.set(key, { authorised, expiresAt: Date.now() + this.ttlMs });
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
