import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, notFound, BackgroundJob } from '../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { Database, isUniqueViolation, type Tx } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import { OutboxService, StatusListAnchorClient } from '../chain/index.js';
import { signJws } from '../credentials/index.js';
import { encodeBitstring, encodeTokenList, LIST_SIZE, TOKEN_STATUS } from './lists.js';
import { AuditLog } from '../audit/index.js';
import { StatusRepository } from './status.repository.js';
import { IndexBlockRepository } from './index-block.repository.js';
import { INDEX_BLOCK, openBlock, pickFreeBlock, type OpenBlock } from './index-blocks.js';
import type { StatusListEntity, StatusListKind, StatusPurpose } from './status.entity.js';

export type StatusAction = 'revoke' | 'suspend' | 'reinstate';

/** The reserved index was taken by a concurrent issuance before it was written; pick another. */
export class IndexTaken extends Error {
  constructor() {
    super('status index taken');
    this.name = 'IndexTaken';
  }
}

/** Who signs and anchors an agency's lists. */
export interface ListIssuer {
  agencyId: string;
  did: string;
  signingKeyId: string;
  signingKid: string;
  controllerKeyId: string;
}

export interface StatusAllocation {
  listId: string;
  idx: number;
  /** For SD-JWT VCs: the Token Status List reference. */
  sdJwtStatus?: { status_list: { idx: number; uri: string } };
  /** For JWT VCs: W3C BitstringStatusListEntry for revocation and for suspension. */
  credentialStatus?: Record<string, string>[];
}

/** Lists fill to half their size at most, so a random free index is found in a few tries. */
const MAX_FILL = 0.5;
const PURPOSES_BY_KIND: Record<StatusListKind, StatusPurpose[]> = { bitstring: ['revocation', 'suspension'], token: ['token'] };
const MEDIA_TYPE: Record<StatusListKind, string> = { bitstring: 'application/vc+jwt', token: 'application/statuslist+jwt' };

/**
 * Status entries, changes and publication. A change flips flags and bumps a sequence in the database,
 * then the publisher signs one new version per changed list at once (it is served from then on) and
 * queues the anchoring of its digest in the outbox, so a batch of any size costs one anchoring
 * transaction per list and a revocation never waits for the chain. Only the holder of a list's
 * publisher lease signs its versions, so several service instances never race for one.
 */
@Injectable()
export class StatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StatusService');
  private readonly publicationJob = new BackgroundJob(this.logger, 'status publication');
  private readonly reconciliationJob = new BackgroundJob(this.logger, 'status reconciliation');
  private readonly baseUrl: string;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<unknown> | undefined;
  private stopped = false;
  private publishQueue: Promise<unknown> = Promise.resolve();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> | undefined;
  /** This process's publisher identity for list leases (and owner of the index blocks it reserves). */
  readonly publisherId = randomUUID();
  /** The block each agency and list kind hands out indices from, and reservations under way. */
  private readonly openBlocks = new Map<string, OpenBlock>();
  private readonly reservingBlocks = new Map<string, Promise<OpenBlock>>();
  /** Outbox entries of status anchors known mined (final), for servedWithAnchor. */
  private readonly minedAnchors = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly repository: StatusRepository,
    private readonly blocks: IndexBlockRepository,
    private readonly keys: KeyService,
    private readonly outbox: OutboxService,
    private readonly anchors: StatusListAnchorClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditLog,
  ) {
    this.baseUrl = publicBaseUrl(config);
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.publishing = this.publicationJob.run(() => this.publishPending()).finally(tick);
      }, this.config.status.publishIntervalMs);
    };
    tick();
    const reconcileTick = () => {
      if (this.stopped) return;
      this.reconcileTimer = setTimeout(() => {
        this.reconciling = this.reconciliationJob.run(() => this.reconcile()).finally(reconcileTick);
      }, this.config.status.reconcileIntervalMs);
    };
    reconcileTick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.reconcileTimer);
    await Promise.all([this.publishing, this.reconciling]);
  }

  listUrl(listId: string, purpose: StatusPurpose): string {
    return `${this.baseUrl}/status/${listId}/${purpose}`;
  }

  mediaType(kind: StatusListKind): string {
    return MEDIA_TYPE[kind];
  }

  /**
   * Creates and publishes an agency's first lists as soon as it can sign, so the first credential it
   * issues is verifiable right away.
   */
  async ensureLists(issuer: ListIssuer): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const kind of ['token', 'bitstring'] as const) await this.listWithRoom(tx, issuer, kind);
    });
    await this.publishPending();
  }

  /**
   * Hands out an index for a credential about to be issued, without writing it: the caller signs with
   * it, then writes it with `commitEntries` in the same transaction as the credential record. Indices come
   * from a block this process reserved durably (and exclusively, also among replicas) beforehand, in random
   * order, so issuing costs no database round trip here; a block left unused by a crash is never reused.
   */
  async reserve(issuer: ListIssuer, kind: StatusListKind): Promise<StatusAllocation> {
    const key = `${issuer.agencyId}:${kind}`;
    for (;;) {
      const open = this.openBlocks.get(key);
      if (open && open.signingKid === issuer.signingKid && open.free.length > 0) {
        return this.allocation(kind, open.listId, open.free.pop()!);
      }
      let pending = this.reservingBlocks.get(key);
      if (!pending) {
        pending = this.reserveBlock(issuer, kind).finally(() => this.reservingBlocks.delete(key));
        this.reservingBlocks.set(key, pending);
      }
      this.openBlocks.set(key, await pending);
    }
  }

  /** Reserves a random free block of the agency's open list (a new list when it has none left). */
  private async reserveBlock(issuer: ListIssuer, kind: StatusListKind): Promise<OpenBlock> {
    for (let attempt = 1; ; attempt++) {
      const reserved = await this.db.transaction(async (tx) => {
        const list = await this.listWithRoom(tx, issuer, kind);
        const block = pickFreeBlock(list.size, await this.blocks.reservedBlocks(tx, list.id));
        if (block === undefined || !(await this.blocks.reserveBlock(tx, list.id, block, this.publisherId, new Date()))) {
          return undefined;
        }
        const written = await this.blocks.indicesIn(tx, list.id, block * INDEX_BLOCK, (block + 1) * INDEX_BLOCK);
        return openBlock(list.id, list.signingKid, block, written);
      });
      // Another replica reserved the same block meanwhile: pick again.
      if (reserved && reserved.free.length > 0) return reserved;
      if (attempt >= 20) throw new Error('no free status index block found');
    }
  }

  /**
   * Writes handed-out indices inside the caller's transaction (a group commit's), with prepared statements.
   * The primary key refuses an index written twice.
   */
  async commitEntries(tx: Tx, entries: { allocation: StatusAllocation; credentialId: string }[]): Promise<void> {
    await this.repository.insertEntries(
      tx,
      entries.map(({ allocation, credentialId }) => ({ listId: allocation.listId, idx: allocation.idx, credentialId })),
    );
  }

  /** Writes a reserved index inside the caller's transaction (one at a time; `commitEntries` for groups). */
  async commitEntry(tx: Tx, allocation: StatusAllocation, credentialId: string): Promise<void> {
    try {
      await this.repository.insertEntries(tx, [{ listId: allocation.listId, idx: allocation.idx, credentialId }]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new IndexTaken();
      throw error;
    }
  }

  /** Reserves and writes an index at once, for callers without a record of their own to write with it. */
  async allocate(issuer: ListIssuer, kind: StatusListKind, credentialId: string): Promise<StatusAllocation> {
    for (;;) {
      const allocation = await this.reserve(issuer, kind);
      try {
        await this.db.transaction((tx) => this.commitEntry(tx, allocation, credentialId));
        return allocation;
      } catch (error) {
        if (!(error instanceof IndexTaken)) throw error;
      }
    }
  }

  private allocation(kind: StatusListKind, listId: string, idx: number): StatusAllocation {
    if (kind === 'token') return { listId, idx, sdJwtStatus: { status_list: { idx, uri: this.listUrl(listId, 'token') } } };
    return {
      listId,
      idx,
      credentialStatus: (['revocation', 'suspension'] as const).map((purpose) => ({
        id: `${this.listUrl(listId, purpose)}#${idx}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: purpose,
        statusListIndex: String(idx),
        statusListCredential: this.listUrl(listId, purpose),
      })),
    };
  }

  /** Revokes, suspends or reinstates credentials of one agency, with the reason in the audit trail. */
  async change(
    agencyId: string,
    credentialIds: string[],
    action: StatusAction,
    reason: string,
    actor: string,
  ): Promise<{ changed: number }> {
    const unique = [...new Set(credentialIds)];
    const changedLists: string[] = [];
    const result = await this.db.transaction(async (tx) => {
      const entries = await this.repository.entriesOf(tx, unique);
      const lists = new Map(
        (await this.repository.listsByIds(tx, [...new Set(entries.map((e) => e.listId))])).map((l) => [l.id, l]),
      );
      const mine = entries.filter((entry) => lists.get(entry.listId)?.agencyId === agencyId);
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
      if (target.length === 0) return { changed: 0 };
      changedLists.push(...new Set(target.map((e) => e.listId)));
      await this.repository.setFlags(tx, target, action === 'revoke' ? { revoked: true } : { suspended: action === 'suspend' });
      await this.repository.bumpSequence(
        tx,
        [...new Set(target.map((e) => e.listId))],
        action === 'revoke' ? 'revocation' : 'suspension',
      );
      const now = new Date();
      await this.repository.insertAudit(
        tx,
        target.map((entry) => ({
          id: randomUUID(),
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
      return { changed: target.length };
    });
    // Signed and served at once; the anchor follows through the outbox, whatever the chain is doing.
    if (changedLists.length) await this.publishPending(changedLists, { waitForLease: true });
    return result;
  }

  async state(
    agencyId: string,
    credentialId: string,
  ): Promise<{ revoked: boolean; suspended: boolean; history: { action: string; reason: string; at: Date }[] }> {
    const [entry] = await this.db.transaction((tx) => this.repository.entriesOf(tx, [credentialId]));
    const list = entry ? await this.repository.list(entry.listId) : null;
    if (!entry || list?.agencyId !== agencyId) throw notFound(`No status entry for credential ${credentialId}`);
    const history = (await this.repository.audit(credentialId)).map((row) => ({
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
   * checked are the bytes stored); an anchor once mined is final and remembered.
   */
  async servedWithAnchor(
    listId: string,
    purpose: StatusPurpose,
  ): Promise<{ publication: { jwt: string; version: number }; anchorMined: boolean }> {
    const head = await this.repository.latestPublicationHead(listId, purpose);
    if (!head) {
      const { publication } = await this.served(listId, purpose); // 404 for an unknown or unpublished list
      return { publication, anchorMined: false };
    }
    let mined = this.minedAnchors.has(head.outboxId);
    if (!mined && (await this.outbox.get(head.outboxId))?.status === 'mined') {
      if (this.minedAnchors.size >= 10_000) this.minedAnchors.clear();
      this.minedAnchors.add(head.outboxId);
      mined = true;
    }
    return { publication: { jwt: head.jwt, version: head.version }, anchorMined: mined };
  }

  async history(listId: string, purpose: StatusPurpose) {
    const { list } = await this.served(listId, purpose);
    const versions = await this.repository.publications(listId, purpose);
    return Promise.all(
      versions.map(async (publication) => {
        const write = await this.outbox.get(publication.outboxId);
        return {
          version: publication.version,
          digest: publication.digest,
          publishedAt: publication.createdAt,
          anchor: { status: write?.status, txHash: write?.txHash, blockNumber: write?.blockNumber, publisher: list.issuerDid },
        };
      }),
    );
  }

  /**
   * Signs a new version of every list (or of the given lists) that changed since its last publication,
   * and queues its anchor. With `waitForLease`, waits while another publisher holds a list's lease (it
   * may have read the list before our change) instead of leaving the change to the next round.
   */
  publishPending(listIds?: string[], options: { waitForLease?: boolean; reconcile?: boolean } = {}): Promise<number> {
    const run = this.publishQueue.then(() => this.publishChanged(listIds, options));
    this.publishQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * The reconciler's step for status lists: publishes changes that were committed but not published
   * (a crash between the two), and publishes a new version of a list whose newest anchor was reverted
   * or lost, so that every list ends with an anchored newest version. Runs under each list's lease.
   */
  reconcile(): Promise<number> {
    return this.publishPending(undefined, { reconcile: true });
  }

  private async publishChanged(
    listIds: string[] | undefined,
    options: { waitForLease?: boolean; reconcile?: boolean },
  ): Promise<number> {
    let published = 0;
    const lists = listIds
      ? await this.db.transaction((tx) => this.repository.listsByIds(tx, listIds))
      : await this.repository.allLists();
    for (const candidate of lists) {
      // Checked before taking the lease, so an idle round writes nothing.
      if ((await this.due(candidate, options.reconcile === true)).length === 0) continue;
      if (!(await this.claimLease(candidate.id, options.waitForLease === true))) continue;
      try {
        // Read again under the lease: the sequences may have moved, or another publisher did the work.
        const list = (await this.repository.list(candidate.id))!;
        for (const { purpose, seq, version } of await this.due(list, options.reconcile === true)) {
          await this.publish(list, purpose, seq, version);
          published++;
        }
      } finally {
        await this.repository.releaseLease(candidate.id, this.publisherId);
      }
    }
    return published;
  }

  /** The purposes of a list that need a new version: changed since the last one, or (reconciling) its anchor lost. */
  private async due(list: StatusListEntity, reconcile: boolean) {
    const due: { purpose: StatusPurpose; seq: number; version: number }[] = [];
    for (const purpose of PURPOSES_BY_KIND[list.kind]) {
      const seq =
        purpose === 'revocation'
          ? list.revocationSeq
          : purpose === 'suspension'
            ? list.suspensionSeq
            : list.revocationSeq + list.suspensionSeq;
      const latest = await this.repository.latestPublication(list.id, purpose);
      if (latest && latest.seq >= seq && !(reconcile && (await this.anchorLost(latest.outboxId)))) continue;
      due.push({ purpose, seq, version: (latest?.version ?? 0) + 1 });
    }
    return due;
  }

  /** An anchor that will never land: reverted on chain, or its outbox entry is gone. */
  private async anchorLost(outboxId: string): Promise<boolean> {
    const write = await this.outbox.get(outboxId);
    return !write || write.status === 'reverted';
  }

  private async claimLease(listId: string, wait: boolean): Promise<boolean> {
    const leaseMs = this.config.status.publisherLeaseMs;
    const deadline = Date.now() + leaseMs;
    for (;;) {
      if (await this.repository.claimLease(listId, this.publisherId, Date.now(), leaseMs)) return true;
      if (!wait || Date.now() > deadline || this.stopped) return false;
      await sleep(50);
    }
  }

  private async publish(list: StatusListEntity, purpose: StatusPurpose, seq: number, version: number): Promise<void> {
    const flagged = await this.repository.flagged(list.id);
    const url = this.listUrl(list.id, purpose);
    const now = Math.floor(Date.now() / 1000);
    const sign = (input: Uint8Array) => this.keys.signJws(list.signingKeyId, input);
    let jwt: string;
    if (purpose === 'token') {
      const statuses = flagged.map((e): [number, number] => [e.idx, e.revoked ? TOKEN_STATUS.invalid : TOKEN_STATUS.suspended]);
      jwt = await signJws(
        { alg: 'ES256', kid: list.signingKid, typ: 'statuslist+jwt' },
        {
          iss: list.issuerDid,
          sub: url,
          iat: now,
          ttl: this.config.status.maxAgeSeconds,
          version,
          status_list: encodeTokenList(list.size, 2, statuses),
        },
        sign,
      );
    } else {
      const indices = flagged.filter((e) => (purpose === 'revocation' ? e.revoked : e.suspended)).map((e) => e.idx);
      jwt = await signJws(
        { alg: 'ES256', kid: list.signingKid, typ: 'vc+jwt', cty: 'vc' },
        {
          '@context': ['https://www.w3.org/ns/credentials/v2'],
          id: url,
          type: ['VerifiableCredential', 'BitstringStatusListCredential'],
          issuer: list.issuerDid,
          validFrom: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          credentialSubject: {
            id: `${url}#list`,
            type: 'BitstringStatusList',
            statusPurpose: purpose,
            encodedList: encodeBitstring(list.size, indices),
          },
          iss: list.issuerDid,
          iat: now,
          version,
        },
        sign,
      );
    }
    const digest = createHash('sha256').update(jwt).digest('hex');
    await this.db.transaction(async (tx) => {
      const [outboxId] = await this.outbox.enqueue(tx, [
        this.anchors.anchorWrite(list.controllerKeyId, url, version, digest, `status:${list.id}`),
      ]);
      await this.repository.insertPublication(tx, {
        id: randomUUID(),
        listId: list.id,
        purpose,
        version,
        seq,
        jwt,
        digest,
        outboxId: outboxId!,
        createdAt: new Date(),
      });
    });
    this.logger.log({ listId: list.id, purpose, version, entries: flagged.length }, 'status list published');
  }

  private async listWithRoom(tx: Tx, issuer: ListIssuer, kind: StatusListKind): Promise<StatusListEntity> {
    // Room: under half full, and a block left to reserve within that half.
    const usable = async (list: StatusListEntity | null): Promise<boolean> =>
      list !== null &&
      list.used < list.size * MAX_FILL &&
      list.signingKid === issuer.signingKid &&
      (await this.blocks.reservedBlocks(tx, list.id)).length < (list.size * MAX_FILL) / INDEX_BLOCK;
    const open = await this.repository.openList(tx, issuer.agencyId, kind);
    if (await usable(open)) return open!;
    // Another replica may be creating this list right now (both activating the agency): wait for it, look again.
    await this.repository.lockListCreation(tx, issuer.agencyId, kind);
    const created = await this.repository.openList(tx, issuer.agencyId, kind);
    if (await usable(created)) return created!;
    const list: StatusListEntity = {
      id: randomUUID(),
      agencyId: issuer.agencyId,
      kind,
      size: LIST_SIZE,
      used: 0,
      issuerDid: issuer.did,
      signingKeyId: issuer.signingKeyId,
      signingKid: issuer.signingKid,
      controllerKeyId: issuer.controllerKeyId,
      revocationSeq: 0,
      suspensionSeq: 0,
      createdAt: new Date(),
    };
    await this.repository.insertList(tx, list);
    return list;
  }
}
