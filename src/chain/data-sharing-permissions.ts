import { Injectable } from '@nestjs/common';
import { BoundedCache } from '../common/index.js';
import { ChainBootstrap } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { ChainEvents } from './chain-events.js';
import {
  dataSharingEventTopics,
  decodeIsPermitted,
  decodePermissionResult,
  isPermittedCall,
  permissionCall,
  type PermissionVerdict,
} from './data-sharing.js';
import { credentialTypeKey } from './trusted-issuers.js';

export interface PermissionAnswer {
  verdict: PermissionVerdict;
  /** The permission the verdict rests on; null when there is none. */
  permissionId: string | null;
  /** Its registered purpose, shown to holders; null without a permission. */
  purpose: string | null;
}

/** Most (client, type, claims) answers kept. */
export const PERMISSION_CACHE_MAX_ENTRIES = 10_000;

/**
 * Reads the consortium's DataSharingRegistry (ADR 15): may this client id ask for these claims of this
 * type? Answers are cached; every PermissionGranted / PermissionWithdrawn event empties the cache, so a
 * withdrawal stops requests as soon as the event is seen, and the short TTL bounds the rest (an expiry).
 * `isPermittedOnChain` skips the cache (the re-check when a wallet answers).
 */
@Injectable()
export class DataSharingPermissions {
  private readonly cache = new BoundedCache<PermissionAnswer>({ maxEntries: PERMISSION_CACHE_MAX_ENTRIES, ttlMs: 30_000 });

  constructor(
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    events: ChainEvents,
  ) {
    const topics = new Set(dataSharingEventTopics());
    events.onLog((log) => {
      if (topics.has(log.topics[0] ?? '')) this.cache.deleteWhere(() => true);
    });
    bootstrap.onConsortium(() => this.cache.deleteWhere(() => true));
  }

  isPermitted(clientId: string, typeId: string, claims: readonly string[]): Promise<PermissionAnswer> {
    const key = JSON.stringify([clientId, typeId, [...claims].sort()]);
    return this.cache.get(key, () => this.isPermittedOnChain(clientId, typeId, claims));
  }

  async isPermittedOnChain(clientId: string, typeId: string, claims: readonly string[]): Promise<PermissionAnswer> {
    const to = this.bootstrap.consortium.dataSharing;
    const result = await this.chain.provider.call({ to, data: isPermittedCall(clientId, credentialTypeKey(typeId), claims) });
    const { verdict, permissionId } = decodeIsPermitted(result);
    if (permissionId === 0n) return { verdict, permissionId: null, purpose: null };
    const record = decodePermissionResult(
      permissionId,
      await this.chain.provider.call({ to, data: permissionCall(permissionId) }),
    );
    return { verdict, permissionId: permissionId.toString(), purpose: record?.terms.purpose ?? null };
  }
}
