import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';
import type { AppConfig } from '../config/index.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type MigrationList = MixedList<Function | string>;

/** SQLite's synchronous level for every transaction but group commits (which flush the WAL themselves). */
export const SQLITE_SYNCHRONOUS = 'FULL';

/**
 * How long a PostgreSQL query may wait for its answer, and a new connection for the server: a server that
 * accepts connections but answers nothing (stopped, a full disk, a network partition) must end in a 503, not a
 * request that never returns. The server cancels a statement a little earlier itself (statement_timeout), so a
 * slow one frees its connection instead of holding it past our own limit. Migrations run without either (a long
 * index build is legitimate).
 */
export const POSTGRES_TIMEOUTS = { queryMs: 15_000, statementMs: 14_000, connectMs: 5_000 } as const;

export function dataSourceOptions(
  database: AppConfig['database'],
  entities: EntityList,
  migrations: MigrationList,
  limits: { queryTimeoutMs: number } = { queryTimeoutMs: POSTGRES_TIMEOUTS.queryMs },
): DataSourceOptions {
  const common = { entities, migrations, synchronize: false, migrationsRun: false, logging: false } as const;
  if (database.kind === 'postgres') {
    const extra = {
      max: 20,
      connectionTimeoutMillis: POSTGRES_TIMEOUTS.connectMs,
      ...(limits.queryTimeoutMs > 0
        ? {
            query_timeout: limits.queryTimeoutMs,
            statement_timeout: Math.max(
              1,
              Math.floor((limits.queryTimeoutMs * POSTGRES_TIMEOUTS.statementMs) / POSTGRES_TIMEOUTS.queryMs),
            ),
          }
        : {}),
    };
    return { ...common, type: 'postgres', url: database.url, extra };
  }
  if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true, mode: 0o700 });
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    // WAL lets readers proceed during writes; the busy timeout covers the CLI and the service sharing a file.
    // synchronous=FULL fsyncs the WAL at every commit, so a committed status entry or reserved index block
    // survives a power loss (NORMAL may drop the last commits). Group commit keeps the fsyncs few, and
    // does its WAL flush on the thread pool before answering (Database.groupTransaction).
    prepareDatabase: (db: { pragma(statement: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${SQLITE_SYNCHRONOUS}`);
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}

/**
 * The data directory holds keys, credentials and the database: owner only (0700), also when it already exists. A
 * directory another user owns (a container's tmpfs mount, root's 1777) cannot be narrowed by us: the start goes on
 * and the returned warning says so (what we write in it is still created owner-only).
 */
export function secureDataDir(dataDir: string): string | undefined {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dataDir, 0o700);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    // Not ours: tolerable only if nobody else may write in it (plant a master key, swap the database file).
    if ((statSync(dataDir).mode & 0o022) !== 0)
      throw new Error(
        `DATA_DIR ${dataDir} belongs to another user and others may write in it: mount it owned by the service's user, mode 0700`,
      );
    return `DATA_DIR ${dataDir} belongs to another user and could not be restricted to its owner (0700): mount it owned by the service's user`;
  }
}

/**
 * The SQLite file and its WAL and shared-memory files: owner read/write only (0600). The file is
 * created 0600 before SQLite opens it, so the -wal and -shm files SQLite creates inherit that mode;
 * files left by an older version are tightened.
 */
export function secureSqliteFiles(path: string): void {
  if (path === ':memory:') return;
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/** Opens the database and applies pending migrations; the schema is never synchronised from entities. */
export async function openDataSource(
  database: AppConfig['database'],
  entities: EntityList,
  migrations: MigrationList,
): Promise<DataSource> {
  if (database.kind === 'postgres') {
    // Migrations on a connection of their own without the query limit; the service's pool has it.
    const migrating = new DataSource(dataSourceOptions(database, entities, migrations, { queryTimeoutMs: 0 }));
    await migrating.initialize();
    try {
      await runMigrationsOnce(migrating, database.kind);
    } finally {
      await migrating.destroy();
    }
    const dataSource = new DataSource(dataSourceOptions(database, entities, migrations));
    await dataSource.initialize();
    return dataSource;
  }
  secureSqliteFiles(database.path);
  const dataSource = new DataSource(dataSourceOptions(database, entities, migrations));
  await dataSource.initialize();
  secureSqliteFiles(database.path);
  await runMigrationsOnce(dataSource, database.kind);
  return dataSource;
}

/** Any constant: the advisory lock every replica takes while it migrates ("chancery" in ASCII). */
const MIGRATION_LOCK_KEY = 0x6368616e63657279n;

/**
 * Replicas starting together (compose, rolling upgrades) must not run one migration twice: on PostgreSQL
 * they queue on a session advisory lock and each then finds nothing pending but what the first left.
 * SQLite has one writer per file and migrates in one process at a time anyway.
 */
async function runMigrationsOnce(dataSource: DataSource, kind: 'sqlite' | 'postgres'): Promise<void> {
  if (kind !== 'postgres') {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => undefined);
    await lock.release();
  }
}
