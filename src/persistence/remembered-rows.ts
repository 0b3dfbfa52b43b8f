import { LRUCache } from 'lru-cache';
import type { ChangeEvent, ChangeFeed } from './change-feed.js';

/** A table whose changes invalidate what is remembered. */
export interface RememberedSource {
  feed: ChangeFeed | undefined;
  /**
   * True when the feed's keys are the remembered keys (a change drops that entry only); false when any
   * change of the table may touch any entry (it drops them all).
   */
  keyed: boolean;
}

/**
 * Rows read from the database, kept between requests only while change feeds vouch for them (ADR 22):
 * PostgreSQL triggers notify every change by any writer, SQLite TEMP triggers on the service's connection
 * report its own writes and `PRAGMA data_version` the others'. A read that overlapped any change is not
 * kept (`mark`/`remember`), entries expire after `ttlMs` whatever happens (a bound should notifications
 * be lost unnoticed), and what this replica changed is forgotten as soon as it commits (`forget`), before
 * its own notification comes back. With no feed (an in-memory database) nothing is kept.
 */
export class RememberedRows<V extends object> {
  private readonly rows: LRUCache<string, V>;
  private readonly feeds: ChangeFeed[];
  private generation = 0;

  constructor(sources: RememberedSource[], options: { max: number; ttlMs: number }) {
    this.rows = new LRUCache({ max: options.max, ttl: options.ttlMs });
    this.feeds = sources.every((source) => source.feed) ? sources.map((source) => source.feed!) : [];
    if (this.feeds.length === 0) return;
    for (const { feed, keyed } of sources) {
      feed!.subscribe((event: ChangeEvent) => {
        this.generation++;
        if (keyed && 'key' in event) this.rows.delete(event.key);
        else this.rows.clear();
      });
    }
  }

  /** How many rows are remembered now (tests). */
  get size(): number {
    return this.rows.size;
  }

  /** Whether anything can be remembered at all. */
  get watching(): boolean {
    return this.feeds.length > 0;
  }

  /** The remembered row, when every feed vouches for what it heard. */
  get(key: string): V | undefined {
    const state = this.state();
    if (state === 'vouched') return this.rows.get(key);
    // Whatever was remembered before a feed stopped vouching may have changed unheard; a feed that is only
    // busy (SQLite inside a transaction, group commits included) has missed nothing: keep it for later.
    if (state === 'unheard' && this.rows.size > 0) this.forget();
    return undefined;
  }

  /** Call before reading the database; pass the result to `remember` with what was read. */
  mark(): number {
    return this.generation;
  }

  remember(key: string, row: V, mark: number): void {
    // Vouching first: a feed may discover a change only when asked (SQLite's data_version: another
    // connection committed after the read), and tells the listeners then, which moves `generation`.
    if (this.state() === 'vouched' && mark === this.generation) this.rows.set(key, row);
  }

  /** This replica committed a change of the row (or of anything, without a key): never answer from before. */
  forget(key?: string): void {
    this.generation++;
    if (key === undefined) this.rows.clear();
    else this.rows.delete(key);
  }

  private state(): 'vouched' | 'busy' | 'unheard' {
    if (this.feeds.length === 0) return 'unheard';
    let busy = false;
    for (const feed of this.feeds) {
      if (feed.vouch()) continue;
      if (!feed.busy) return 'unheard';
      busy = true;
    }
    return busy ? 'busy' : 'vouched';
  }
}
