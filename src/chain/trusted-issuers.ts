import { Injectable } from '@nestjs/common';
import { AbiCoder, keccak256, toUtf8Bytes } from 'ethers';
import { BoundedCache } from '../common/index.js';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { ChainEvents } from './chain-events.js';
import { contractInterface } from './contracts.js';
import type { ChainWrite } from './outbox.service.js';
import { decodeProposal, encodeProposal, proposeCall, type ProposalAction } from './consortium-governance.js';

const issuerRegistry = () => contractInterface('GovernedIssuerRegistry');
const governance = () => contractInterface('ConsortiumGovernance');

/** How long an authorisation proposal stays open for the other members' votes. */
export const AUTHORISATION_PROPOSAL_LIFETIME_SECONDS = 14 * 86_400;

const authorisationAction = (issuerAddress: string, typeId: string, authorised: boolean): ProposalAction => ({
  kind: authorised ? 'AuthoriseIssuer' : 'WithdrawIssuer',
  issuer: issuerAddress,
  credentialType: credentialTypeKey(typeId),
});

/** The registry key of a catalogue credential type. */
export const credentialTypeKey = (typeId: string): string => keccak256(toUtf8Bytes(typeId));

/** Most (issuer, type) answers kept; the least recently used goes first. */
export const TRUSTED_ISSUER_CACHE_MAX_ENTRIES = 10_000;

/**
 * Reads and writes the consortium's trusted-issuer registry (GovernedIssuerRegistry, ADR 15: which agency
 * may issue which credential type). Writes are governance proposals signed by this department's
 * controller; with one member (the embedded default) they execute when mined.
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
    // Another consortium (consortium:init or join): every answer came from the old registry.
    bootstrap.onConsortium(() => this.cache.deleteWhere(() => true));
  }

  /**
   * The outbox write that proposes to grant or withdraw an authorisation (AuthoriseIssuer / WithdrawIssuer),
   * signed by the department's controller key; it is also this member's vote.
   */
  async authorisationWrite(issuerAddress: string, typeId: string, authorised: boolean, ref: string): Promise<ChainWrite> {
    const expiresAt = Math.floor(Date.now() / 1000) + AUTHORISATION_PROPOSAL_LIFETIME_SECONDS;
    return {
      signerKeyId: await this.bootstrap.governorKeyId(),
      // The consortium recorded now, not this replica's copy: another replica may have founded or joined one
      // since (the copy follows within a reconcile period; a proposal sent to the old governance is lost).
      to: (await this.bootstrap.syncConsortium()).governance,
      data: proposeCall(authorisationAction(issuerAddress, typeId, authorised), expiresAt),
      purpose: authorised ? 'trust:authorise' : 'trust:withdraw',
      ref,
    };
  }

  /** Whether a proposal for this change is open, waiting for votes (the mirror stays granting/withdrawing). */
  async proposalOpen(issuerAddress: string, typeId: string, authorised: boolean): Promise<boolean> {
    const { kind, args } = encodeProposal(authorisationAction(issuerAddress, typeId, authorised));
    const contentHash = keccak256(AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes'], [kind, args]));
    const to = (await this.bootstrap.syncConsortium()).governance;
    const idResult = await this.chain.provider.call({
      to,
      data: governance().encodeFunctionData('proposalByContent', [contentHash]),
    });
    const proposalId = governance().decodeFunctionResult('proposalByContent', idResult)[0] as bigint;
    if (proposalId === 0n) return false;
    const stateResult = await this.chain.provider.call({ to, data: governance().encodeFunctionData('stateOf', [proposalId]) });
    return Number(governance().decodeFunctionResult('stateOf', stateResult)[0]) === 1; // Open
  }

  async isAuthorised(issuerAddress: string, typeId: string): Promise<boolean> {
    const key = `${issuerAddress.toLowerCase()}:${typeId}`;
    const { authorised } = await this.cache.get(key, async () => {
      return { authorised: await this.readRegistry(this.bootstrap.consortium.issuerRegistry, issuerAddress, typeId) };
    });
    return authorised;
  }

  /** The authorised flag an AuthoriseIssuer / WithdrawIssuer proposal carries, or undefined for other calldata. */
  decodeAuthorisationWrite(data: string): boolean | undefined {
    try {
      const call = governance().parseTransaction({ data });
      if (call?.name !== 'propose') return undefined;
      const action = decodeProposal(call.args[0] as bigint, call.args[1] as string);
      return action.kind === 'AuthoriseIssuer' ? true : action.kind === 'WithdrawIssuer' ? false : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The registry's current answer, bypassing every cache (for the reconciler): the registry of the consortium
   * recorded now, so a replica settling authorisations right after another one switched consortium does not
   * compare them with the old registry.
   */
  async isAuthorisedOnChain(issuerAddress: string, typeId: string): Promise<boolean> {
    return this.readRegistry((await this.bootstrap.syncConsortium()).issuerRegistry, issuerAddress, typeId);
  }

  private async readRegistry(registry: string, issuerAddress: string, typeId: string): Promise<boolean> {
    const contract = issuerRegistry();
    const data = contract.encodeFunctionData('isAuthorised', [issuerAddress, credentialTypeKey(typeId)]);
    const result = await this.chain.provider.call({ to: registry, data });
    return Boolean(contract.decodeFunctionResult('isAuthorised', result)[0]);
  }
}
