import { Injectable } from '@nestjs/common';
import { keccak256, toUtf8Bytes } from 'ethers';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { contractInterface } from './contracts.js';
import type { ChainWrite } from './outbox.service.js';

const anchorContract = () => contractInterface('StatusListAnchor');

/** A status list is anchored under keccak256 of its URL. */
export const statusListKey = (url: string): string => keccak256(toUtf8Bytes(url));

export interface StatusAnchor {
  /** SHA-256 of the served list, hex without 0x; empty when this version was never anchored. */
  digest: string;
  anchoredAt: number;
  /** The account that anchored the list first (it owns the list id for good); empty when nobody has. */
  publisher: string;
  /** The newest version anchored for this list. */
  latestVersion: number;
}

/** Writes and reads status-list anchors (contracts/StatusListAnchor.sol). */
@Injectable()
export class StatusListAnchorClient {
  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
  ) {}

  anchorWrite(signerKeyId: string, url: string, version: number, digestHex: string, ref: string): ChainWrite {
    return {
      signerKeyId,
      to: this.bootstrap.address('StatusListAnchor'),
      data: anchorContract().encodeFunctionData('anchor', [statusListKey(url), version, '0x' + digestHex]),
      purpose: 'status:anchor',
      ref,
    };
  }

  async anchorOf(url: string, version: number): Promise<StatusAnchor> {
    const contract = anchorContract();
    const to = this.bootstrap.address('StatusListAnchor');
    const key = statusListKey(url);
    const [anchored, publisher, latest] = await Promise.all([
      this.chain.provider.call({ to, data: contract.encodeFunctionData('anchorOf', [key, version]) }),
      this.chain.provider.call({ to, data: contract.encodeFunctionData('publisherOf', [key]) }),
      this.chain.provider.call({ to, data: contract.encodeFunctionData('latestVersion', [key]) }),
    ]);
    const [digest, anchoredAt] = contract.decodeFunctionResult('anchorOf', anchored) as unknown as [string, bigint];
    const [owner] = contract.decodeFunctionResult('publisherOf', publisher) as unknown as [string];
    const [latestVersion] = contract.decodeFunctionResult('latestVersion', latest) as unknown as [bigint];
    return {
      digest: /^0x0+$/.test(digest) ? '' : digest.slice(2),
      anchoredAt: Number(anchoredAt),
      publisher: /^0x0{40}$/i.test(owner) ? '' : owner,
      latestVersion: Number(latestVersion),
    };
  }
}
