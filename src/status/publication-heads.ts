import { LRUCache } from 'lru-cache';
import type { ChangeEvent, ChangeFeed, WatchedTable } from '../persistence/index.js';

/** `status_publications` as a change feed watches it (PostgreSQL: the trigger of migration 1766900000000). */
export const STATUS_PUBLICATIONS: WatchedTable = {
  channel: 'chancery_status_publications',
  table: 'status_publications',
  keySql: "ROW.list_id || '/' || ROW.purpose",
};

/** What is remembered of a list's newest publication: enough to answer "unchanged" without the database. */
export interface RememberedHead {
  version: number;
  outboxId: string;
  /** SHA-256 (hex) of the stored bytes. */
  digest: string;
}

/**
 * Heads of our own lists' newest publications, kept between verifications only while a change feed
 * vouches for them (PostgreSQL: the table's trigger notifies every change, by any writer; SQLite: TEMP
 * triggers on our connection and `PRAGMA data_version` for the others), so a warm verification does not
 * read the list's row. A read that overlapped any invalidation is not kept
 * (`generation`), entries expire after `ttlMs` whatever happens (a bound should notifications be lost
 * unnoticed), and this replica's own publications are forgotten as soon as they commit, before the
 * notification comes back.
 */
export class PublicationHeads {
  private readonly heads: LRUCache<string, RememberedHead>;
  private generation = 0;

  constructor(
    private readonly feed: ChangeFeed | undefined,
    ttlMs = 10_000,
  ) {
    this.heads = new LRUCache({ max: 1_000, ttl: ttlMs });
    feed?.subscribe((event: ChangeEvent) => {
      this.generation++;
      if ('key' in event) this.heads.delete(event.key);
      else this.heads.clear();
    });
  }

  /** Whether anything can be remembered at all (not on an in-memory database). */
  get watching(): boolean {
    return this.feed !== undefined;
  }

  /** The remembered head, when the feed vouches for what it heard. */
  get(listId: string, purpose: string): RememberedHead | undefined {
    if (this.feed?.vouch()) return this.heads.get(`${listId}/${purpose}`);
    // Whatever was remembered before the feed stopped vouching may have changed unheard.
    if (this.heads.size > 0) {
      this.heads.clear();
      this.generation++;
    }
    return undefined;
  }

  /** Call before reading the database; pass the result to `remember` with what was read. */
  mark(): number {
    return this.generation;
  }

  remember(listId: string, purpose: string, head: RememberedHead, mark: number): void {
    if (this.feed?.vouch() && mark === this.generation) this.heads.set(`${listId}/${purpose}`, head);
  }

  /** This replica changed the list (committed): never answer from what was remembered before. */
  forget(listId: string, purpose: string): void {
    this.generation++;
    this.heads.delete(`${listId}/${purpose}`);
  }
}
