import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils.js';
import type { Tx } from './database.js';

/** The few better-sqlite3 calls the raw path uses. */
interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
/** The pg client or pool call the raw path uses (named statements are prepared once per connection). */
interface PgQueryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rowCount: number | null; rows: unknown[] }>;
}

/** Raw SQL on one connection: `?` placeholders are written as `$n` on PostgreSQL by `SqlDriver.sql`. */
export interface SqlExecutor {
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params: unknown[]): Promise<number>;
  all<T>(sql: string, params: unknown[]): Promise<T[]>;
}

/**
 * One data-changing statement of a batch (`?` placeholders, never values in the text). On PostgreSQL a
 * batch's parts become one statement (data-modifying CTEs), so a group of writes costs one round trip.
 */
export interface SqlPart {
  sql: string;
  params: unknown[];
}

/** Bound on cached prepared statements: repositories use a fixed set of SQL texts (batch sizes ≤ 32, MAX_GROUP). */
const MAX_STATEMENTS = 512;

/**
 * Prepared statements through the database driver, for hot paths where TypeORM's per-statement JavaScript
 * costs more than the database itself (issuance). TypeORM keeps the schema and the migrations; the SQL
 * texts here are fixed per call site (values are always parameters), so every statement is prepared once:
 * a cached better-sqlite3 statement, or a named PostgreSQL statement prepared once per pooled connection.
 * Values are written exactly as TypeORM writes them (dates, booleans), so both paths read alike.
 */
export class SqlDriver {
  readonly kind: 'sqlite' | 'postgres';
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly names = new Map<string, string>();

  constructor(private readonly dataSource: DataSource) {
    this.kind = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /** Rewrites `?` placeholders to `$1…$n` on PostgreSQL. */
  sql(text: string): string {
    if (this.kind === 'sqlite') return text;
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  }

  /** A timestamp as TypeORM stores it: a UTC text on SQLite, a Date for pg to serialise. */
  date(value: Date): unknown {
    return this.kind === 'sqlite' ? DateUtils.mixedDateToUtcDatetimeString(value) : value;
  }

  /** A timestamp column read by raw SQL, as TypeORM hydrates it (SQLite keeps UTC text without a zone). */
  readDate(value: unknown): Date {
    if (value instanceof Date) return value;
    const text = String(value);
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
  }

  bool(value: boolean): unknown {
    return this.kind === 'sqlite' ? (value ? 1 : 0) : value;
  }

  /**
   * An executor inside `tx` (its connection), or on the driver's own connection/pool. On SQLite there is
   * one connection: callers without a transaction must hold the Database queue (see `Database.raw`).
   */
  async on(tx: Tx | undefined): Promise<SqlExecutor> {
    if (this.kind === 'sqlite') {
      const connection = (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
      return {
        run: (sql, params) => Promise.resolve(this.prepared(connection, sql).run(...params).changes),
        all: <T>(sql: string, params: unknown[]) => Promise.resolve(this.prepared(connection, sql).all(...params) as T[]),
      };
    }
    const target: PgQueryable = tx?.queryRunner
      ? ((await tx.queryRunner.connect()) as PgQueryable)
      : (this.dataSource.driver as unknown as { master: PgQueryable }).master;
    return {
      run: async (sql, params) => (await target.query({ name: this.name(sql), text: sql, values: params })).rowCount ?? 0,
      all: async <T>(sql: string, params: unknown[]) =>
        (await target.query({ name: this.name(sql), text: sql, values: params })).rows as T[],
    };
  }

  /**
   * Runs the parts in order. PostgreSQL: as ONE statement, `WITH p0 AS (…), p1 AS (…) SELECT 1`, on the
   * transaction's connection, or without `tx` on the pool, where the statement is its own transaction:
   * all or nothing, durable when it returns (synchronous_commit = on). The parts must not read each
   * other's rows (a CTE sees the snapshot from before the statement). SQLite: one by one, so `tx` (or
   * the Database queue) is required there.
   */
  async batch(tx: Tx | undefined, parts: SqlPart[]): Promise<void> {
    if (parts.length === 0) return;
    const sql = await this.on(tx);
    if (this.kind === 'sqlite' || parts.length === 1) {
      for (const part of parts) await sql.run(this.sql(part.sql), part.params);
      return;
    }
    const text = `WITH ${parts.map((part, i) => `p${i} AS (${part.sql})`).join(', ')} SELECT 1`;
    await sql.run(
      this.sql(text),
      parts.flatMap((part) => part.params),
    );
  }

  private prepared(connection: SqliteConnection, sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      statement = connection.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private name(sql: string): string {
    let name = this.names.get(sql);
    if (!name) {
      if (this.names.size >= MAX_STATEMENTS) this.names.clear();
      name = `c_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      this.names.set(sql, name);
    }
    return name;
  }
}
