import { Injectable } from '@nestjs/common';
import { keccak256, toUtf8Bytes } from 'ethers';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { contractInterface } from './contracts.js';
import type { ChainWrite } from './outbox.service.js';

const trustedIssuers = () => contractInterface('TrustedIssuerRegistry');

/** The registry key of a catalogue credential type. */
export const credentialTypeKey = (typeId: string): string => keccak256(toUtf8Bytes(typeId));

/** Reads and writes the on-chain trusted-issuer registry (which agency may issue which credential type). */
@Injectable()
export class TrustedIssuerRegistry {
  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
  ) {}

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
    const contract = trustedIssuers();
    const data = contract.encodeFunctionData('isAuthorised', [issuerAddress, credentialTypeKey(typeId)]);
    const result = await this.chain.provider.call({ to: this.bootstrap.address('TrustedIssuerRegistry'), data });
    return Boolean(contract.decodeFunctionResult('isAuthorised', result)[0]);
  }
}
