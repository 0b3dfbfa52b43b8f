import { Inject, Injectable, Logger } from '@nestjs/common';
import { conflict, notFound } from '../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { Database, timeOrderedId, type SqlPart, type Tx } from '../persistence/index.js';
import { OutboxService } from '../chain/index.js';
import { AuditLog } from '../audit/index.js';
import { StatusRepository, type KnownListBytes } from './status.repository.js';
import { StatusIndexAllocator, type ListIssuer, type StatusAllocation } from './index-allocator.js';
import { StatusListPublisher } from './list-publisher.js';
import { PURPOSES_BY_KIND, statusListUrl } from './list-urls.js';
import type { StatusListKind, StatusPurpose } from './status.entity.js';

export type StatusAction = 'revoke' | 'suspend' | 'reinstate';

/** Versions per page of a list's history (`?limit=` up to HISTORY_MAX_PAGE). */
export const HISTORY_PAGE = 100;
export const HISTORY_MAX_PAGE = 1_000;

/**
 * The status module's face: status changes with their audit trail, what is served, and the entry points
 * of index allocation (StatusIndexAllocator) and publication (StatusListPublisher) that callers need.
 */
@Injectable()
export class StatusService {
  private readonly logger = new Logger('StatusService');
  private readonly baseUrl: string;
  /** Outbox entries of status anchors known mined (final), for servedWithAnchor. */
  private readonly minedAnchors = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly repository: StatusRepository,
    private readonly allocator: StatusIndexAllocator,
    private readonly publisher: StatusListPublisher,
    private readonly outbox: OutboxService,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly audit: AuditLog,
  ) {
    this.baseUrl = publicBaseUrl(config);
    allocator.publishList = (listId) => this.publisher.publishPending([listId], { waitForLease: true });
  }

  get publisherId(): string {
    return this.publisher.publisherId;
  }

  listUrl(listId: string, purpose: StatusPurpose): string {
    return statusListUrl(this.baseUrl, listId, purpose);
  }

  /**
   * Creates and publishes an agency's first lists as soon as it can sign, so the first credential it
   * issues is verifiable right away.
   */
  async ensureLists(issuer: ListIssuer): Promise<void> {
    await this.allocator.ensureLists(issuer);
    await this.publisher.publishPending();
  }

  /** An index for a credential about to be issued, written later with `entriesStatement` (see the allocator). */
  reserve(issuer: ListIssuer, kind: StatusListKind): Promise<StatusAllocation> {
    return this.allocator.reserve(issuer, kind);
  }

  entriesStatement(entries: { allocation: StatusAllocation; credentialId: string }[]): SqlPart {
    return this.allocator.entriesStatement(entries);
  }

  allocate(issuer: ListIssuer, kind: StatusListKind, credentialId: string): Promise<StatusAllocation> {
    return this.allocator.allocate(issuer, kind, credentialId);
  }

  publishPending(listIds?: string[], options: { waitForLease?: boolean; reconcile?: boolean } = {}): Promise<number> {
    return this.publisher.publishPending(listIds, options);
  }

  reconcile(): Promise<number> {
    return this.publisher.reconcile();
  }

  /**
   * Revokes, suspends or reinstates credentials of one agency, with the reason in the audit trail.
   * `inTransaction` (the caller's idempotency record) commits with the change.
   */
  async change(
    agencyId: string,
    credentialIds: string[],
    action: StatusAction,
    reason: string,
    actor: string,
    inTransaction?: (tx: Tx, result: { changed: number }) => Promise<void>,
  ): Promise<{ changed: number }> {
    const unique = [...new Set(credentialIds)];
    const { changed, lists } = await this.db.transaction(async (tx) => {
      const made = await this.changeIn(tx, agencyId, unique, action, reason, actor);
      await inTransaction?.(tx, { changed: made.changed });
      return made;
    });
    // Signed and served at once; the anchor follows through the outbox, whatever the chain is doing. The change
    // is committed: a failure to publish now (the database gone a moment, a publisher's lease still held by a
    // replica that died) must not turn its answer into an error, since the publisher's round publishes it anyway.
    if (lists.length)
      await this.publisher.publishPending(lists, { waitForLease: true }).catch((error: unknown) => {
        this.logger.warn(
          { event: 'status_publish_deferred', lists: lists.length, code: (error as { code?: unknown }).code },
          'status lists changed; their publication is left to the next round',
        );
      });
    return { changed };
  }

  private async changeIn(
    tx: Tx,
    agencyId: string,
    unique: string[],
    action: StatusAction,
    reason: string,
    actor: string,
  ): Promise<{ changed: number; lists: string[] }> {
    const entries = await this.repository.entriesOf(tx, unique, { forChange: true });
    const listsOfEntries = new Map(
      (await this.repository.listsByIds(tx, [...new Set(entries.map((e) => e.listId))])).map((l) => [l.id, l]),
    );
    const mine = entries.filter((entry) => listsOfEntries.get(entry.listId)?.agencyId === agencyId);
    const known = new Set(mine.map((entry) => entry.credentialId));
    const missing = unique.filter((id) => !known.has(id));
    if (missing.length)
      throw notFound(`No status entry for credential(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
    if (action !== 'revoke') {
      const revoked = mine.filter((entry) => entry.revoked);
      if (revoked.length) throw conflict(`Revocation is final; ${revoked[0]!.credentialId} is revoked`);
    }
    const target =
      action === 'revoke'
        ? mine.filter((e) => !e.revoked)
        : action === 'suspend'
          ? mine.filter((e) => !e.suspended)
          : mine.filter((e) => e.suspended);
    if (target.length === 0) return { changed: 0, lists: [] };
    const lists = [...new Set(target.map((e) => e.listId))];
    await this.repository.setFlags(tx, target, action === 'revoke' ? { revoked: true } : { suspended: action === 'suspend' });
    await this.repository.bumpSequence(tx, lists, action === 'revoke' ? 'revocation' : 'suspension');
    const now = new Date();
    await this.repository.insertAudit(
      tx,
      target.map((entry) => ({
        id: timeOrderedId(),
        agencyId,
        credentialId: entry.credentialId,
        action,
        reason,
        actor,
        createdAt: now,
      })),
    );
    const credentials = target.map((entry) => entry.credentialId);
    await this.audit.append(
      { kind: 'credential.status.changed', actor, subject: `agency:${agencyId}`, data: { action, reason, credentials } },
      tx,
    );
    return { changed: target.length, lists };
  }

  async state(
    agencyId: string,
    credentialId: string,
  ): Promise<{ revoked: boolean; suspended: boolean; history: { action: string; reason: string; at: Date }[] }> {
    return this.db.transaction((tx) => this.stateIn(tx, agencyId, credentialId));
  }

  /** `state` as `tx` sees it (a change's own answer, stored with it). */
  async stateIn(
    tx: Tx,
    agencyId: string,
    credentialId: string,
  ): Promise<{ revoked: boolean; suspended: boolean; history: { action: string; reason: string; at: Date }[] }> {
    const [entry] = await this.repository.entriesOf(tx, [credentialId]);
    const list = entry ? await this.repository.list(entry.listId, tx) : null;
    if (!entry || list?.agencyId !== agencyId) throw notFound(`No status entry for credential ${credentialId}`);
    const history = (await this.repository.audit(credentialId, tx)).map((row) => ({
      action: row.action,
      reason: row.reason,
      at: row.createdAt,
    }));
    return { revoked: entry.revoked, suspended: entry.suspended, history };
  }

  /** The latest signed version of a list, as served. */
  async served(listId: string, purpose: StatusPurpose) {
    const list = await this.repository.list(listId);
    if (!list || !PURPOSES_BY_KIND[list.kind].includes(purpose)) throw notFound(`No status list ${listId}/${purpose}`);
    // The newest signed version is served at once; verifiers see from the chain whether it is anchored yet.
    const publication = await this.repository.latestPublication(listId, purpose);
    if (!publication) throw notFound(`Status list ${listId}/${purpose} is not published yet`);
    return { list, publication };
  }

  /**
   * The served version and whether its anchor is mined, for this service's own verifier: one prepared
   * statement reads the newest version (so one published by any replica is seen at once, and the bytes
   * checked are the bytes stored); an anchor once mined is final and remembered. `known`: the bytes the
   * caller read last; `jwt` is undefined when the stored bytes are still exactly those.
   */
  async servedWithAnchor(
    listId: string,
    purpose: StatusPurpose,
    known?: KnownListBytes,
  ): Promise<{ publication: { jwt: string | undefined; version: number }; anchorMined: boolean }> {
    const head = await this.repository.latestPublicationHead(listId, purpose, known);
    if (!head) {
      const { publication } = await this.served(listId, purpose); // 404 for an unknown or unpublished list
      return { publication, anchorMined: false };
    }
    let mined = this.minedAnchors.has(head.outboxId);
    if (!mined && (await this.outbox.statusOf(head.outboxId)) === 'mined') {
      if (this.minedAnchors.size >= 10_000) this.minedAnchors.clear();
      this.minedAnchors.add(head.outboxId);
      mined = true;
    }
    return { publication: { jwt: head.jwt, version: head.version }, anchorMined: mined };
  }

  /**
   * Published versions of a list with their anchors, oldest first: the newest `limit`, or those older than
   * `before`. Two statements whatever the list's length (the versions, then their anchor writes).
   */
  async history(listId: string, purpose: StatusPurpose, page: { before?: number; limit?: number } = {}) {
    const list = await this.repository.list(listId);
    if (!list || !PURPOSES_BY_KIND[list.kind].includes(purpose)) throw notFound(`No status list ${listId}/${purpose}`);
    const versions = (
      await this.repository.publicationPage(listId, purpose, { before: page.before, limit: page.limit ?? HISTORY_PAGE })
    ).reverse();
    if (versions.length === 0 && page.before === undefined)
      throw notFound(`Status list ${listId}/${purpose} is not published yet`);
    const writes = new Map(
      (await this.outbox.getMany([...new Set(versions.map((version) => version.outboxId))])).map((write) => [write.id, write]),
    );
    return versions.map((publication) => {
      const write = writes.get(publication.outboxId);
      return {
        version: publication.version,
        digest: publication.digest,
        publishedAt: publication.createdAt,
        anchor: { status: write?.status, txHash: write?.txHash, blockNumber: write?.blockNumber, publisher: list.issuerDid },
      };
    });
  }
}
