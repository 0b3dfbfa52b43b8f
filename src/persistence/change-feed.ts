import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { WalIndexHeader } from './wal-index-header.js';

/** What a change feed tells its listeners: one changed key, or that anything may have changed. */
export type ChangeEvent = { key: string } | { everything: true };

/**
 * Changes of one table, for caches of what it holds: `subscribe` hears each change (its key) or
 * `everything`; `vouch()` says whether what was heard so far is all there is, so a remembered row may be
 * trusted now (it may first tell the listeners of changes it has just discovered).
 */
export interface ChangeFeed {
  vouch(): boolean;
  /**
   * When `vouch()` is false: true if the feed only cannot vouch at this moment but has missed nothing (SQLite:
   * the connection is inside a transaction; what happens meanwhile is heard or seen once it ends), so what
   * was remembered is kept for later; false when changes may have gone unheard (a lost listener).
   */
  readonly busy?: boolean;
  subscribe(listener: (event: ChangeEvent) => void): void;
  close(): Promise<void>;
}

/** A table whose changes a feed reports: PostgreSQL notifies `channel` (a migration's trigger); SQLite watches `table`. */
export interface WatchedTable {
  /** The NOTIFY channel of the table's trigger. */
  channel: string;
  table: string;
  /** SQL expression of a changed row's key over `ROW.` (e.g. `ROW.list_id || '/' || ROW.purpose`). */
  keySql: string;
}

/** A channel or table name, interpolated into SQL: plain lower-case identifiers only. */
function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return name;
}

/** The listeners of a feed. */
abstract class Listeners {
  private readonly listeners: ((event: ChangeEvent) => void)[] = [];

  subscribe(listener: (event: ChangeEvent) => void): void {
    this.listeners.push(listener);
  }

  protected emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The few better-sqlite3 calls the SQLite feed makes on the service's connection. */
export interface SqliteFeedConnection {
  function(name: string, fn: (key: unknown) => unknown): unknown;
  exec(sql: string): unknown;
  prepare(sql: string): { raw(): { get(): unknown } };
  /** Whether a transaction is open on the connection (its snapshot hides other connections' commits). */
  readonly inTransaction: boolean;
}

/**
 * `PRAGMA data_version` and `schema_version` of one connection, shared by its feeds. Each read opens a read
 * transaction (file locks and an fstat: ~6 µs of syscalls hot, ~12 µs cold and ~30 µs inside an HTTP request),
 * so both come from one statement, read once per synchronous section (feeds vouching one after the other
 * share it; no I/O completes within a section, so nothing this process saw can be newer than the read), and
 * not at all while the WAL-index header (one pread of the `-shm` file) reads as it did at the last statement:
 * no connection has committed since, so neither version moved. The header is read before the statement, so a
 * commit between the two only costs another statement next time.
 */
export class SqliteVersions {
  private readonly statement: { get(): unknown };
  private current: [unknown, unknown] | undefined;
  private known: { header: Buffer; versions: [unknown, unknown] } | undefined;

  constructor(
    private readonly connection: SqliteFeedConnection,
    private readonly walIndex?: WalIndexHeader,
  ) {
    this.statement = connection
      .prepare('SELECT d.data_version, s.schema_version FROM pragma_data_version AS d, pragma_schema_version AS s')
      .raw();
  }

  /** `[data_version, schema_version]`. */
  read(): [unknown, unknown] {
    // Inside a transaction the versions are those of its snapshot: neither kept nor paired with a header.
    if (this.connection.inTransaction) return this.statement.get() as [unknown, unknown];
    if (!this.current) {
      const header = this.walIndex?.read();
      if (header && this.known?.header.equals(header)) {
        this.current = this.known.versions;
      } else {
        this.current = this.statement.get() as [unknown, unknown];
        this.known = header && { header, versions: this.current };
      }
      queueMicrotask(() => (this.current = undefined));
    }
    return this.current;
  }
}

/**
 * SQLite: changes made on the service's own connection are reported synchronously by TEMP triggers (they
 * fire for this connection only, whoever issues the statement: our code or someone using it by hand), and
 * commits by any other connection (the CLI, a sqlite3 shell) by `PRAGMA data_version`, which `vouch()`
 * reads: when it moved, listeners hear `everything`.
 */
export class SqliteChangeFeed extends Listeners implements ChangeFeed {
  private lastDataVersion: unknown;
  private readonly triggers: string[];
  private lastSchemaVersion: unknown;

  constructor(
    private readonly connection: SqliteFeedConnection,
    watched: WatchedTable,
    private readonly versions = new SqliteVersions(connection),
  ) {
    super();
    const channel = identifier(watched.channel);
    const table = identifier(watched.table);
    const fn = `${channel}_changed`;
    connection.function(fn, (key) => {
      this.emit({ key: String(key) });
      return null;
    });
    this.triggers = [
      ['INSERT', 'NEW'],
      ['UPDATE', 'OLD'],
      ['UPDATE', 'NEW'],
      ['DELETE', 'OLD'],
    ].map(
      ([event, row]) =>
        `CREATE TEMP TRIGGER IF NOT EXISTS ${channel}_${event!.toLowerCase()}_${row!.toLowerCase()} ` +
        `AFTER ${event} ON main.${table} BEGIN SELECT ${fn}(${watched.keySql.replace(/\bROW\./g, `${row}.`)}); END`,
    );
    [this.lastDataVersion, this.lastSchemaVersion] = versions.read();
    this.installTriggers();
  }

  /** Inside a transaction: see `vouch`. Our connection's changes meanwhile are heard by the triggers, the others' show in `data_version` after it. */
  get busy(): boolean {
    return this.connection.inTransaction;
  }

  vouch(): boolean {
    // Inside a transaction (one of ours awaiting between statements) `data_version` is read in that
    // transaction's snapshot, so another connection's commit since it began does not move it: no vouching.
    if (this.connection.inTransaction) return false;
    // The table was dropped and made again (a rebuild by a migration, or by hand) on this connection: its
    // TEMP triggers went with it, so changes since may have been unheard. Install them again, forget all.
    const [version, schema] = this.versions.read();
    if (schema !== this.lastSchemaVersion) {
      try {
        this.installTriggers();
      } catch {
        return false; // the table is gone for now
      }
      this.lastSchemaVersion = schema;
      this.emit({ everything: true });
    }
    if (version !== this.lastDataVersion) {
      this.lastDataVersion = version;
      this.emit({ everything: true });
    }
    return true;
  }

  private installTriggers(): void {
    // A REPLACE that deletes a conflicting row fires its DELETE triggers only with recursive triggers on
    // (the schema has no other triggers on SQLite; ours only call the function).
    this.connection.exec('PRAGMA recursive_triggers = ON');
    for (const trigger of this.triggers) this.connection.exec(trigger);
  }

  async close(): Promise<void> {}
}

/** How often the listening connection is checked (a half-open TCP connection delivers nothing, silently). */
const HEARTBEAT_MS = 5_000;
/** Wait before reconnecting after the connection was lost. */
const RECONNECT_MS = 1_000;

/** Marks the listening session in pg_stat_activity (operators, and tests that cut it). */
export const CHANGE_FEED_APPLICATION_NAME = 'chancery-change-feed';

/**
 * PostgreSQL LISTEN on a connection of its own: every NOTIFY on `channel` (sent by a trigger, so by any
 * writer: this replica, another one, or someone editing the table by hand) reaches the listeners. A cache
 * may trust what it holds only while `live` (what `vouch()` says): from LISTEN until the connection fails
 * or misses a heartbeat; listeners hear `everything` at both edges, since notifications sent while nobody
 * listened are lost.
 */
export class PgChangeFeed extends Listeners implements ChangeFeed {
  private client: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private closed = false;
  private isLive = false;

  private readonly channel: string;

  constructor(
    private readonly connectionString: string,
    channel: string,
  ) {
    super();
    this.channel = identifier(channel);
    void this.connect();
  }

  get live(): boolean {
    return this.isLive;
  }

  vouch(): boolean {
    return this.isLive;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: CHANGE_FEED_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel !== this.channel || client !== this.client) return;
      this.emit(message.payload && message.payload !== '*' ? { key: message.payload } : { everything: true });
    });
    client.on('error', () => void this.lost(client));
    client.on('end', () => void this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      await this.lost(client);
      return;
    }
    if (client !== this.client || this.closed) return;
    this.isLive = true;
    this.emit({ everything: true });
    this.heartbeat = setInterval(() => {
      const timeout = setTimeout(() => void this.lost(client), HEARTBEAT_MS);
      timeout.unref();
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        () => {
          clearTimeout(timeout);
          void this.lost(client);
        },
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The listening connection is gone or cannot be trusted: stop vouching for caches, connect again. */
  private lost(client: pg.Client): Promise<void> {
    if (client !== this.client) return Promise.resolve();
    this.client = undefined;
    clearInterval(this.heartbeat);
    const wasLive = this.isLive;
    this.isLive = false;
    if (wasLive) this.emit({ everything: true });
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    const ended = client.end().catch(() => undefined);
    if (!this.closed) {
      this.reconnect = setTimeout(() => void this.connect(), RECONNECT_MS);
      this.reconnect.unref();
    }
    return ended;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    // A half-open connection may never answer the goodbye: shutdown waits at most a second for it.
    if (this.client) await Promise.race([this.lost(this.client), sleep(1_000, undefined, { ref: false })]);
  }
}
