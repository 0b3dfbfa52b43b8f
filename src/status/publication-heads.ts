import type { Database, WatchedTable } from '../persistence/index.js';

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
 * Heads of our own lists' newest publications, kept between verifications while the table's change feed
 * vouches for them (`Database.remembered`), keyed `listId/purpose` as the feed reports changes.
 */
export const publicationHeadsOf = (db: Database) =>
  db.remembered<RememberedHead>('status-publication-heads', [{ table: STATUS_PUBLICATIONS, keyed: true }], {
    max: 1_000,
    ttlMs: 10_000,
  });

export const headKey = (listId: string, purpose: string) => `${listId}/${purpose}`;
