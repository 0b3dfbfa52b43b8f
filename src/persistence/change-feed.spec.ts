import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteChangeFeed, SqliteVersions, type ChangeEvent, type SqliteFeedConnection } from './change-feed.js';

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
});

describe('SqliteChangeFeed created inside a read transaction', () => {
  it('hears a commit of another connection made while the transaction was open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-feed-tx-'));
    const own = new BetterSqlite3(join(dir, 'db.sqlite'));
    const other = new BetterSqlite3(join(dir, 'db.sqlite'));
    try {
      own.pragma('journal_mode = WAL');
      own.exec('CREATE TABLE a (k TEXT PRIMARY KEY); CREATE TABLE b (k TEXT PRIMARY KEY)');
      const versions = new SqliteVersions(own);
      const heard: string[] = [];
      const feedA = new SqliteChangeFeed(own, { channel: 'watch_a', table: 'a', keySql: 'ROW.k' }, versions);
      feedA.subscribe((event) => heard.push('key' in event ? event.key : '*'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(feedA.vouch()).toBe(true);
      own.exec('BEGIN');
      own.prepare('SELECT count(*) FROM b').get(); // the snapshot is taken
      other.prepare('INSERT INTO a VALUES (?)').run('revoked');
      // The first use of another remembered table, inside the transaction, reads the versions of its snapshot.
      new SqliteChangeFeed(own, { channel: 'watch_b', table: 'b', keySql: 'ROW.k' }, versions);
      own.exec('ROLLBACK');
      await new Promise((resolve) => setImmediate(resolve));
      expect(feedA.vouch()).toBe(true);
      expect(heard).toEqual(['*']);
    } finally {
      own.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
