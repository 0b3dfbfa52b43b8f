import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { SingleFlight, unavailable } from '../common/index.js';
import { Database, isUniqueViolation, type SqlPart, type Tx } from '../persistence/index.js';
import { LIST_SIZE } from './lists.js';
import { PURPOSES_BY_KIND, statusListUrl } from './list-urls.js';
import { StatusRepository } from './status.repository.js';
import { IndexBlockRepository } from './index-block.repository.js';
import { INDEX_BLOCK, openBlock, pickFreeBlock, type OpenBlock } from './index-blocks.js';
import type { StatusListEntity, StatusListKind } from './status.entity.js';

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

/** Lists fill to half their size at most (counted in reserved blocks: `used`), so a random free block is found in a few tries. */
const MAX_FILL = 0.5;
/** Indices left in the open block when the next block's reservation starts: a quarter of a block. */
const RESERVE_AHEAD_AT = INDEX_BLOCK / 4;
/** After a failed reservation, how long issuances do not start another one ahead of need. */
const AHEAD_RETRY_PAUSE_MS = 1_000;

/**
 * Hands out status-list indices. Indices come from blocks this process reserved durably (and exclusively,
 * also among replicas) beforehand, in random order, so issuing costs no database round trip here; the next
 * block is reserved while the open one lasts. A block left unused by a crash is never reused, and an index
 * handed out is never handed out again.
 */
@Injectable()
export class StatusIndexAllocator implements BeforeApplicationShutdown {
  /** Owner recorded on the blocks this process reserves. */
  readonly ownerId = randomUUID();
  private readonly baseUrl: string;
  /** The block each agency and list kind hands out indices from. */
  private readonly openBlocks = new Map<string, OpenBlock>();
  /** The block each agency and list kind goes on with once its open block is spent: reserved, or under way. */
  private readonly nextBlocks = new Map<string, Promise<OpenBlock>>();
  /** After a reservation made ahead failed: no other one ahead before this time (the caller in need still tries). */
  private readonly aheadPausedUntil = new Map<string, number>();
  private readonly logger = new Logger('StatusIndexAllocator');

  /**
   * Lists known to have a published version of every purpose. No index of any other list is handed out before
   * its first version is published (by whichever process or replica), or the first credentials of a new list (an
   * agency's did:key lists, a full list's successor) would fail verification until the publisher's next round
   * (its 404 "not published yet"). A list never goes back to unpublished, so this is asked once per list.
   */
  private readonly publishedLists = new Set<string>();
  private readonly publishing = new SingleFlight<void>();
  /** Publishes a list's pending versions; StatusService wires the publisher here (unset: nothing is awaited). */
  publishList?: (listId: string) => Promise<unknown>;

  constructor(
    private readonly db: Database,
    private readonly repository: StatusRepository,
    private readonly blocks: IndexBlockRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.baseUrl = publicBaseUrl(config);
  }

  /** The agency's open token and bitstring lists, created when missing or full. */
  async ensureLists(issuer: ListIssuer): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const kind of ['token', 'bitstring'] as const) await this.listWithRoom(tx, issuer, kind);
    });
  }

  /**
   * Hands out an index for a credential about to be issued, without writing it: the caller signs with it,
   * then writes it with `entriesStatement` in the same transaction as the credential record.
   */
  async reserve(issuer: ListIssuer, kind: StatusListKind): Promise<StatusAllocation> {
    // An agency's did:key has lists of its own (ADR 40): a list's issuer is its credentials' issuer.
    const key = `${issuer.agencyId}:${kind}:${issuer.did}`;
    for (;;) {
      const open = this.openBlocks.get(key);
      if (open && open.signingKid === issuer.signingKid && open.free.length > 0) {
        if (!this.publishedLists.has(open.listId)) {
          // Once per list; the block stays open meanwhile (a failed publication loses no index), then look again.
          await this.ensurePublished(open.listId, kind);
          continue;
        }
        const idx = open.free.pop()!;
        // The next block is reserved while this one still lasts, so no issuance waits for a reservation's
        // write and flush (and none commits alone because of it).
        if (open.free.length <= RESERVE_AHEAD_AT && !this.nextBlocks.has(key) && this.mayReserveAhead(key)) {
          void this.nextBlock(key, issuer, kind);
        }
        return this.allocation(kind, open.listId, idx);
      }
      const pending = this.nextBlock(key, issuer, kind);
      const next = await pending;
      if (this.nextBlocks.get(key) === pending) this.nextBlocks.delete(key);
      // Callers that waited together take the same block; the first one to resume opens it. A block reserved
      // ahead under a signing key since replaced is left unused (the loop reserves one under the new key).
      if (this.openBlocks.get(key) === open && next.signingKid === issuer.signingKid) this.openBlocks.set(key, next);
    }
  }

  /** Lets reservations under way finish before the database closes (a block is used only once durable anyway). */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.nextBlocks.values()]);
  }

  /**
   * Resolves once every purpose of the list has a published version, publishing it when none has (a list just
   * made here or by another replica, or left unpublished by a crash); concurrent callers share one check.
   * Throws when it could not be published: the caller's issuance fails, and the next one asks again.
   */
  private ensurePublished(listId: string, kind: StatusListKind): Promise<void> {
    const published = async () =>
      (await Promise.all(PURPOSES_BY_KIND[kind].map((purpose) => this.repository.latestPublication(listId, purpose)))).every(
        (publication) => publication !== null,
      );
    return this.publishing.run(listId, async () => {
      if (this.publishList && !(await published())) {
        await this.publishList(listId);
        if (!(await published())) throw unavailable(`The new status list ${listId} is not published yet; try again shortly`);
      }
      this.publishedLists.add(listId);
    });
  }

  private mayReserveAhead(key: string): boolean {
    const pausedUntil = this.aheadPausedUntil.get(key);
    if (pausedUntil === undefined) return true;
    if (Date.now() < pausedUntil) return false;
    this.aheadPausedUntil.delete(key);
    return true;
  }

  /** The reservation of the block after the open one, started when none is under way or held. */
  private nextBlock(key: string, issuer: ListIssuer, kind: StatusListKind): Promise<OpenBlock> {
    let pending = this.nextBlocks.get(key);
    if (!pending) {
      const reservation = this.reserveBlock(issuer, kind);
      pending = reservation;
      this.nextBlocks.set(key, reservation);
      // A failed reservation is forgotten, so the next caller tries again; those waiting for it get its error
      // (and one made ahead of need, which nobody awaits, is not an unhandled rejection).
      reservation.catch((error: unknown) => {
        if (this.nextBlocks.get(key) === reservation) this.nextBlocks.delete(key);
        this.aheadPausedUntil.set(key, Date.now() + AHEAD_RETRY_PAUSE_MS);
        this.logger.warn(`status index block reservation failed: ${(error as Error).message}`);
      });
    }
    return pending;
  }

  /**
   * The statement writing handed-out indices in a group commit (one multi-row insert, no list row touched).
   * The primary key refuses an index written twice.
   */
  entriesStatement(entries: { allocation: StatusAllocation; credentialId: string }[]): SqlPart {
    return this.repository.entriesStatement(
      entries.map(({ allocation, credentialId }) => ({ listId: allocation.listId, idx: allocation.idx, credentialId })),
    );
  }

  /** Writes a reserved index inside the caller's transaction (one at a time; `entriesStatement` for groups). */
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

  /** Reserves a random free block of the agency's open list (a new list when it has none left). */
  private async reserveBlock(issuer: ListIssuer, kind: StatusListKind): Promise<OpenBlock> {
    for (let attempt = 1; ; attempt++) {
      const reserved = await this.db.transaction(async (tx) => {
        const list = await this.listWithRoom(tx, issuer, kind);
        const block = pickFreeBlock(list.size, await this.blocks.reservedBlocks(tx, list.id));
        if (block === undefined || !(await this.blocks.reserveBlock(tx, list.id, block, this.ownerId, new Date()))) {
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

  private allocation(kind: StatusListKind, listId: string, idx: number): StatusAllocation {
    const url = (purpose: 'token' | 'revocation' | 'suspension') => statusListUrl(this.baseUrl, listId, purpose);
    if (kind === 'token') return { listId, idx, sdJwtStatus: { status_list: { idx, uri: url('token') } } };
    return {
      listId,
      idx,
      credentialStatus: (['revocation', 'suspension'] as const).map((purpose) => ({
        id: `${url(purpose)}#${idx}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: purpose,
        statusListIndex: String(idx),
        statusListCredential: url(purpose),
      })),
    };
  }

  private async listWithRoom(tx: Tx, issuer: ListIssuer, kind: StatusListKind): Promise<StatusListEntity> {
    // Room: under half full, and a block left to reserve within that half.
    const usable = async (list: StatusListEntity | null): Promise<boolean> =>
      list !== null &&
      list.used < list.size * MAX_FILL &&
      list.signingKid === issuer.signingKid &&
      (await this.blocks.reservedBlocks(tx, list.id)).length < (list.size * MAX_FILL) / INDEX_BLOCK;
    const open = await this.repository.openList(tx, issuer.agencyId, kind, issuer.did);
    if (await usable(open)) return open!;
    // Another replica may be creating this list right now (both activating the agency): wait for it, look again.
    await this.repository.lockListCreation(tx, issuer.agencyId, kind);
    const created = await this.repository.openList(tx, issuer.agencyId, kind, issuer.did);
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
