import { mkdtempSync, rmSync } from 'node:fs';
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
    const walIndex = new WalIndexHeader(join(dir, 'db.sqlite-shm'));
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
    walIndex.close();
  });
});

describe('WalIndexHeader', () => {
  it('reads the same header until a connection commits, and nothing for a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-shm-'));
    const db = new BetterSqlite3(join(dir, 'db.sqlite'));
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (k TEXT)');
      const header = new WalIndexHeader(join(dir, 'db.sqlite-shm'));
      const first = header.read();
      expect(first).toHaveLength(48);
      expect(header.read()).toEqual(first);
      db.prepare('SELECT count(*) FROM t').get();
      expect(header.read()).toEqual(first);
      db.prepare('INSERT INTO t VALUES (?)').run('x');
      const second = header.read();
      expect(second).toBeDefined();
      expect(second).not.toEqual(first);
      header.close();
      expect(new WalIndexHeader(join(dir, 'missing-shm')).read()).toBeUndefined();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
