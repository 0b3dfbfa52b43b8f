import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteChangeFeed, SqliteVersions, type ChangeEvent, type SqliteFeedConnection } from './change-feed.js';
import { WalIndexHeader } from './wal-index-header.js';

describe('SqliteChangeFeed sharing one read of the connection versions', () => {
  let dir: string;
  let own: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chancery-feed-'));
    own = new BetterSqlite3(join(dir, 'db.sqlite'));
    own.pragma('journal_mode = WAL');
    own.exec('CREATE TABLE a (k TEXT PRIMARY KEY); CREATE TABLE b (k TEXT PRIMARY KEY)');
    other = new BetterSqlite3(join(dir, 'db.sqlite'));
  });
  afterEach(() => {
    own.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('reads the versions once per synchronous section for all feeds, and hears another connection after it', async () => {
    // The service's connection, counting the statements that read the versions.
    let versionReads = 0;
    const connection: SqliteFeedConnection = {
      function: (name, fn) => own.function(name, fn),
      exec: (sql) => own.exec(sql),
      get inTransaction() {
        return own.inTransaction;
      },
      prepare: (sql) => {
        const statement = own.prepare(sql).raw();
        return { raw: () => ({ get: () => (versionReads++, statement.get()) }) };
      },
    };
    const versions = new SqliteVersions(connection);
    const heard: string[] = [];
    const feeds = ['a', 'b'].map((table) => {
      const feed = new SqliteChangeFeed(connection, { channel: `watch_${table}`, table, keySql: 'ROW.k' }, versions);
      feed.subscribe((event: ChangeEvent) => heard.push(`${table}:${'key' in event ? event.key : '*'}`));
      return feed;
    });
    await tick();
    const before = versionReads;
    expect(feeds.every((feed) => feed.vouch())).toBe(true);
    expect(feeds.every((feed) => feed.vouch())).toBe(true);
    expect(versionReads - before).toBe(1);

    // Another connection commits: both feeds forget everything at the next section's vouch.
    other.prepare('INSERT INTO b VALUES (?)').run('x');
    expect(feeds[0]!.vouch()).toBe(true);
    expect(heard).toEqual([]); // same section: the read before the commit stands
    await tick();
    expect(feeds.every((feed) => feed.vouch())).toBe(true);
    expect(heard).toEqual(['a:*', 'b:*']);
    expect(versionReads - before).toBe(2);

    // Own connection: heard at once, by key, from the TEMP trigger.
    own.prepare('INSERT INTO a VALUES (?)').run('y');
    expect(heard).toEqual(['a:*', 'b:*', 'a:y']);
  });

  it('skips the versions statement while the WAL-index header is unchanged, and sees every commit of another connection', async () => {
    let versionReads = 0;
    const connection: SqliteFeedConnection = {
      function: (name, fn) => own.function(name, fn),
      exec: (sql) => own.exec(sql),
      get inTransaction() {
        return own.inTransaction;
      },
      prepare: (sql) => {
        const statement = own.prepare(sql).raw();
        return { raw: () => ({ get: () => (versionReads++, statement.get()) }) };
      },
    };
    const walIndex = new WalIndexHeader(join(dir, 'db.sqlite'));
    const versions = new SqliteVersions(connection, walIndex);
    const heard: string[] = [];
    const feed = new SqliteChangeFeed(connection, { channel: 'watch_b', table: 'b', keySql: 'ROW.k' }, versions);
    feed.subscribe((event: ChangeEvent) => heard.push('key' in event ? event.key : '*'));
    await tick();
    expect(feed.vouch()).toBe(true);
    await tick();
    const before = versionReads;
    for (let i = 0; i < 5; i++) {
      expect(feed.vouch()).toBe(true);
      await tick();
    }
    expect(versionReads).toBe(before); // nothing committed: no statement

    for (let i = 0; i < 3; i++) {
      other.prepare('INSERT INTO b VALUES (?)').run(`other-${i}`);
      expect(feed.vouch()).toBe(true);
      expect(heard).toEqual(Array.from({ length: i + 1 }, () => '*'));
      await tick();
    }
    // A commit by its own connection moves the header too (not the data version): one statement, nothing heard but the key.
    const reads = versionReads;
    own.prepare('INSERT INTO b VALUES (?)').run('own');
    await tick();
    expect(feed.vouch()).toBe(true);
    expect(versionReads).toBe(reads + 1);
    expect(heard).toEqual(['*', '*', '*', 'own']);
  });
});

describe('WalIndexHeader', () => {
  it('reads the same header until a connection commits, and nothing for a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-shm-'));
    const db = new BetterSqlite3(join(dir, 'db.sqlite'));
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (k TEXT)');
      const header = new WalIndexHeader(join(dir, 'db.sqlite'));
      const first = header.read();
      expect(first).toHaveLength(48);
      expect(header.read()).toEqual(first);
      db.prepare('SELECT count(*) FROM t').get();
      expect(header.read()).toEqual(first);
      db.prepare('INSERT INTO t VALUES (?)').run('x');
      const second = header.read();
      expect(second).toBeDefined();
      expect(second).not.toEqual(first);
      expect(new WalIndexHeader(join(dir, 'missing.sqlite')).read()).toBeUndefined();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Found in review: the header must come from the file SQLite uses, and never stand for a transaction's snapshot. */
describe('WAL-index header shortcut, edge cases', () => {
  let dir: string;
  let own: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const wrap = (db: BetterSqlite3.Database): SqliteFeedConnection => ({
    function: (name, fn) => db.function(name, fn),
    exec: (sql) => db.exec(sql),
    get inTransaction() {
      return db.inTransaction;
    },
    prepare: (sql) => db.prepare(sql),
  });
  const open = (path: string) => {
    own = new BetterSqlite3(path);
    own.pragma('journal_mode = WAL');
    own.exec('CREATE TABLE IF NOT EXISTS a (k TEXT PRIMARY KEY); CREATE TABLE IF NOT EXISTS b (k TEXT PRIMARY KEY)');
    other = new BetterSqlite3(path);
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chancery-shm-edge-'))));
  afterEach(() => {
    own?.close();
    other?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hears a commit of another connection made while a feed was created inside a read transaction', async () => {
    open(join(dir, 'db.sqlite'));
    const connection = wrap(own);
    const versions = new SqliteVersions(connection, new WalIndexHeader(join(dir, 'db.sqlite')));
    const heard: string[] = [];
    const feedA = new SqliteChangeFeed(connection, { channel: 'watch_a', table: 'a', keySql: 'ROW.k' }, versions);
    feedA.subscribe((event) => heard.push('key' in event ? event.key : '*'));
    await tick();
    expect(feedA.vouch()).toBe(true);
    await tick();
    own.exec('BEGIN');
    own.prepare('SELECT count(*) FROM b').get(); // the snapshot is taken
    other.prepare('INSERT INTO a VALUES (?)').run('revoked'); // another process commits
    await tick();
    // The first use of another remembered table, inside the transaction.
    new SqliteChangeFeed(connection, { channel: 'watch_b', table: 'b', keySql: 'ROW.k' }, versions);
    own.exec('ROLLBACK');
    await tick();
    expect(feedA.vouch()).toBe(true);
    expect(heard).toEqual(['*']);
  });

  it('reads the -shm of the real database file behind a symbolic link, not a stale one at the link', async () => {
    mkdirSync(join(dir, 'real'));
    open(join(dir, 'real', 'db.sqlite'));
    own.prepare('SELECT count(*) FROM a').get();
    copyFileSync(join(dir, 'real', 'db.sqlite-shm'), join(dir, 'db.sqlite-shm')); // left over from before a move
    own.close();
    other.close();
    symlinkSync(join(dir, 'real', 'db.sqlite'), join(dir, 'db.sqlite'));
    open(join(dir, 'db.sqlite'));
    const connection = wrap(own);
    const versions = new SqliteVersions(connection, new WalIndexHeader(join(dir, 'db.sqlite')));
    const heard: string[] = [];
    const feedA = new SqliteChangeFeed(connection, { channel: 'watch_a', table: 'a', keySql: 'ROW.k' }, versions);
    feedA.subscribe((event) => heard.push('key' in event ? event.key : '*'));
    await tick();
    expect(feedA.vouch()).toBe(true);
    for (let i = 0; i < 3; i++) {
      await tick();
      other.prepare('INSERT INTO a VALUES (?)').run(`x${i}`);
      expect(feedA.vouch()).toBe(true);
    }
    expect(heard).toEqual(['*', '*', '*']);
  });
});
