import { copyFileSync, fstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteChangeFeed, SqliteVersions, type SqliteFeedConnection } from './change-feed.js';
import { WalIndexHeader } from './wal-index-header.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The service's connection, counting the statements that read the versions. */
function counted(db: BetterSqlite3.Database): SqliteFeedConnection & { versionReads: number } {
  const connection = {
    versionReads: 0,
    function: (name: string, fn: (key: unknown) => unknown) => db.function(name, fn),
    exec: (sql: string) => db.exec(sql),
    get inTransaction() {
      return db.inTransaction;
    },
    prepare: (sql: string) => {
      const statement = db.prepare(sql).raw();
      return { raw: () => ({ get: () => (connection.versionReads++, statement.get()) }) };
    },
  };
  return connection;
}

describe('WalIndexHeader and the versions shortcut', () => {
  let dir: string;
  let own: BetterSqlite3.Database | undefined;
  let other: BetterSqlite3.Database | undefined;
  const open = (path: string) => {
    own = new BetterSqlite3(path);
    own.pragma('journal_mode = WAL');
    own.exec('CREATE TABLE IF NOT EXISTS a (k TEXT PRIMARY KEY); CREATE TABLE IF NOT EXISTS b (k TEXT PRIMARY KEY)');
    other = new BetterSqlite3(path);
    return own;
  };
  const header = (path: string) => new WalIndexHeader(path);
  /** A feed on table a of `own`, through a header of `path`, and what it heard. */
  const watch = (path: string) => {
    const connection = counted(own!);
    const versions = new SqliteVersions(connection, header(path));
    const heard: string[] = [];
    const feed = new SqliteChangeFeed(connection, { channel: 'watch_a', table: 'a', keySql: 'ROW.k' }, versions);
    feed.subscribe((event) => heard.push('key' in event ? event.key : '*'));
    return { connection, versions, feed, heard };
  };
  /** `count` commits of the other connection, each in its own section, each followed by the feed vouching. */
  const otherCommits = async (feed: SqliteChangeFeed, count: number) => {
    for (let i = 0; i < count; i++) {
      await tick();
      other!.prepare('INSERT INTO a VALUES (?)').run(`x${i}`);
      expect(feed.vouch()).toBe(true);
    }
  };

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chancery-shm-'))));
  afterEach(() => {
    own?.close();
    other?.close();
    own = other = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the same header while nobody commits and another after any connection commits', () => {
    open(join(dir, 'db.sqlite'));
    const made = header(join(dir, 'db.sqlite'));
    const first = made.read();
    expect(first).toHaveLength(48);
    expect(made.read()).toEqual(first);
    own!.prepare('SELECT count(*) FROM a').get();
    expect(made.read()).toEqual(first);
    other!.prepare('INSERT INTO a VALUES (?)').run('x');
    const second = made.read();
    expect(second).toHaveLength(48);
    expect(second).not.toEqual(first);
    own!.prepare('INSERT INTO a VALUES (?)').run('y');
    expect(made.read()).not.toEqual(second);
    expect(header(join(dir, 'missing.sqlite')).read()).toBeUndefined();
  });

  it('spares the statement while nobody commits, and hears every commit of another connection', async () => {
    open(join(dir, 'db.sqlite'));
    const { connection, feed, heard } = watch(join(dir, 'db.sqlite'));
    await tick();
    expect(feed.vouch()).toBe(true);
    const reads = connection.versionReads;
    for (let i = 0; i < 5; i++) {
      await tick();
      expect(feed.vouch()).toBe(true);
    }
    expect(connection.versionReads).toBe(reads);
    await otherCommits(feed, 3);
    expect(heard).toEqual(['*', '*', '*']);
    // Our own commit moves the header, not data_version: one statement, nothing heard beyond the trigger.
    await tick();
    own!.prepare('INSERT INTO a VALUES (?)').run('own');
    await tick();
    expect(feed.vouch()).toBe(true);
    expect(heard).toEqual(['*', '*', '*', 'own']);
  });

  it('hears a commit of another connection made while a feed was created inside a read transaction', async () => {
    open(join(dir, 'db.sqlite'));
    const { connection, versions, feed, heard } = watch(join(dir, 'db.sqlite'));
    await tick();
    expect(feed.vouch()).toBe(true);
    await tick();
    own!.exec('BEGIN');
    own!.prepare('SELECT count(*) FROM b').get(); // the snapshot is taken
    other!.prepare('INSERT INTO a VALUES (?)').run('revoked'); // another process commits
    await tick();
    // The first use of another remembered table, inside the transaction: versions of the snapshot.
    new SqliteChangeFeed(connection, { channel: 'watch_b', table: 'b', keySql: 'ROW.k' }, versions);
    own!.exec('ROLLBACK');
    await tick();
    expect(feed.vouch()).toBe(true);
    expect(heard).toEqual(['*']);
  });

  it('reads the -shm of the real database file behind a symbolic link, not a stale one at the link', async () => {
    mkdirSync(join(dir, 'real'));
    open(join(dir, 'real', 'db.sqlite'));
    own!.prepare('SELECT count(*) FROM a').get();
    copyFileSync(join(dir, 'real', 'db.sqlite-shm'), join(dir, 'db.sqlite-shm')); // left over from before a move
    own!.close();
    other!.close();
    symlinkSync(join(dir, 'real', 'db.sqlite'), join(dir, 'db.sqlite'));
    open(join(dir, 'db.sqlite'));
    const { feed, heard } = watch(join(dir, 'db.sqlite'));
    await tick();
    expect(feed.vouch()).toBe(true);
    await otherCommits(feed, 3);
    expect(heard).toEqual(['*', '*', '*']);
  });

  it('shares one descriptor per file, never closes it, and reads the new -shm of a database opened again', async () => {
    const path = join(dir, 'db.sqlite');
    open(path);
    const first = header(path);
    const second = header(path);
    expect(first.read()).toHaveLength(48);
    expect(second.read()).toHaveLength(48);
    const fd = (first as unknown as { fd: number }).fd;
    expect((second as unknown as { fd: number }).fd).toBe(fd);

    // Every connection closed: SQLite deleted the -shm; the reopened database has a new one, which is read.
    own!.close();
    other!.close();
    open(path);
    const { feed, heard } = watch(path);
    await tick();
    expect(feed.vouch()).toBe(true);
    await otherCommits(feed, 2);
    expect(heard).toEqual(['*', '*']);
    // The first file's descriptor stays open: closing it would drop the process's locks on that file.
    expect(() => fstatSync(fd)).not.toThrow();
  });
});
