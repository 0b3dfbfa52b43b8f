import { createHash, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { PgChangeFeed, type Database } from '../../src/persistence/index.js';
import { StatusRepository } from '../../src/status/status.repository.js';
import { STATUS_PUBLICATIONS } from '../../src/status/publication-heads.js';
import {
  cutChangeFeedListeners,
  heardSoFar,
  insertTokenList,
  openContractDatabase,
  unnotified,
  type ContractDatabase,
} from './contract-database.js';
import { eventually } from '../support/test-app.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const known = (jwt: string) => ({ jwt, utf8: Buffer.from(jwt), digest: sha256(jwt) });

/**
 * The verifier's read of a list's newest publication, with replicas: a replica answers "unchanged" from
 * memory while its change feed vouches for it, and any change by any writer (another replica or
 * connection, or an UPDATE by hand) reaches it. PostgreSQL: by the table's notifications, and while the
 * listening connection is down every read goes to the database; SQLite: by TEMP triggers on its own
 * connection and `PRAGMA data_version` for the others'.
 */
describe('newest status list publication across replicas (repository contract)', () => {
  let database: ContractDatabase;
  let repositories: StatusRepository[];
  let listId: string;

  beforeAll(async () => {
    database = await openContractDatabase('publication_heads', 2);
    repositories = database.replicas.map((db) => new StatusRepository(db));
    listId = await insertTokenList(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  let version = 0;
  /** Publishes the next version through `repository` (on its own database) and tells it the commit happened. */
  async function publish(jwt: string, repository = repositories[0]!, db = database.db): Promise<void> {
    version++;
    await db.transaction((tx) =>
      repository.insertPublication(tx, {
        id: randomUUID(),
        listId,
        purpose: 'token',
        version,
        seq: version,
        jwt,
        digest: sha256(jwt),
        outboxId: randomUUID(),
        createdAt: new Date(),
      }),
    );
    repository.publicationCommitted(listId, 'token');
  }
  /** Changes the newest row's bytes behind the service's back. */
  const tamper = (jwt: string) =>
    database.db.raw(undefined, (sql) =>
      sql.run(database.db.driver.sql('UPDATE status_publications SET jwt = ? WHERE list_id = ? AND version = ?'), [
        jwt,
        listId,
        version,
      ]),
    );
  const readAt = (replica: number, knownJwt?: string) =>
    repositories[replica]!.latestPublicationHead(listId, 'token', knownJwt === undefined ? undefined : known(knownJwt));
  const feedOf = (replica: number) => database.replicas[replica]!.changeFeed(STATUS_PUBLICATIONS);

  it('sees a new version published by another replica, and a row changed by hand', async () => {
    await publish('v1.payload.signature');
    await eventually(async () => (feedOf(1)?.vouch() ? true : undefined));
    expect(await readAt(1)).toMatchObject({ version: 1, jwt: 'v1.payload.signature' });
    expect(await readAt(1, 'v1.payload.signature')).toMatchObject({ version: 1, jwt: undefined });

    await publish('v2.payload.signature');
    // PostgreSQL: the other replica hears of it within milliseconds; SQLite: it reads the row every time.
    expect(await eventually(async () => (await readAt(1, 'v1.payload.signature'))?.jwt)).toBe('v2.payload.signature');
    expect(await readAt(1, 'v2.payload.signature')).toMatchObject({ version: 2, jwt: undefined });

    await tamper('v2.forged.signature');
    expect(await eventually(async () => (await readAt(1, 'v2.payload.signature'))?.jwt)).toBe('v2.forged.signature');
    await tamper('v2.payload.signature');
    expect(await eventually(async () => (await readAt(1, 'v2.forged.signature'))?.jwt)).toBe('v2.payload.signature');
  });

  it('forgets its own publications at once, without waiting for the notification', async () => {
    expect(await readAt(0)).toMatchObject({ version, jwt: expect.any(String) });
    const before = (await readAt(0))!.jwt!;
    expect(await readAt(0, before)).toMatchObject({ jwt: undefined });
    await unnotified(database, ['status_publications'], () => publish(`v${version + 1}.own.signature`));
    expect(await readAt(0, before)).toMatchObject({ version, jwt: `v${version}.own.signature` });
  });

  it('shares what it remembers with every repository on the same database: a publication committed through one is forgotten by all at once', async () => {
    const before = (await readAt(1))!.jwt!;
    expect(await readAt(1, before)).toMatchObject({ jwt: undefined });
    const another = new StatusRepository(database.replicas[1]!);
    const jwt = `v${version + 1}.another.signature`;
    await unnotified(database, ['status_publications'], () => publish(jwt, another, database.replicas[1]!));
    expect(await readAt(1, before)).toMatchObject({ version, jwt });
  });

  it('answers a warm read from memory, without a statement', async () => {
    await heardSoFar(database, 1, [STATUS_PUBLICATIONS]);
    const current = (await readAt(1))!.jwt!;
    const statements = jest.spyOn(database.replicas[1]!, 'raw');
    try {
      expect(await readAt(1, current)).toMatchObject({ version, jwt: undefined });
      expect(await readAt(1, current)).toMatchObject({ version, jwt: undefined });
      expect(statements).not.toHaveBeenCalled();
    } finally {
      statements.mockRestore();
    }
  });

  it('SQLite: sees a change made by hand on its own connection at once (TEMP trigger)', async () => {
    if (database.kind !== 'sqlite') return;
    const current = (await readAt(1))!.jwt!;
    expect(await readAt(1, current)).toMatchObject({ jwt: undefined });
    await database.replicas[1]!.raw(undefined, (sql) =>
      sql.run('UPDATE status_publications SET jwt = ? WHERE list_id = ? AND version = ?', ['by.hand.signature', listId, version]),
    );
    expect(await readAt(1, current)).toMatchObject({ jwt: 'by.hand.signature' });
    await tamper(current);
    expect(await readAt(1, 'by.hand.signature')).toMatchObject({ jwt: current });
  });

  it('SQLite: a commit by another connection while its own connection holds a read transaction is not hidden by memory', async () => {
    if (database.kind !== 'sqlite') return;
    const current = (await readAt(1))!.jwt!;
    expect(await readAt(1, current)).toMatchObject({ jwt: undefined });
    // Replica 1's connection is inside a transaction that has read (a snapshot older than what follows).
    let reading!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((resolve) => (reading = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const open = database.replicas[1]!.transaction(async (tx) => {
      await tx.query('SELECT count(*) FROM status_publications');
      reading();
      await gate;
    });
    await inside;
    // Another connection publishes (a revocation, say) and commits before the verification starts.
    const next = `v${version + 1}.while.open.signature`;
    await publish(next);
    const read = readAt(1, current);
    release();
    await open;
    expect(await read).toMatchObject({ version, jwt: next });
  });

  async function recreateTable(db: Database): Promise<void> {
    const [{ sql: create }] = (await db.raw(undefined, (sql) =>
      sql.all("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'status_publications'", []),
    )) as { sql: string }[];
    await db.transaction(async (tx) => {
      await tx.query(create.replace('"status_publications"', '"temporary_status_publications"'));
      await tx.query('INSERT INTO temporary_status_publications SELECT * FROM status_publications');
      await tx.query('DROP TABLE status_publications');
      await tx.query('ALTER TABLE temporary_status_publications RENAME TO status_publications');
    });
  }

  it.each([0, 1])('SQLite: hears its own connection after the table was recreated on connection %i', async (by) => {
    if (database.kind !== 'sqlite') return;
    const current = (await readAt(1))!.jwt!;
    await recreateTable(database.replicas[by]!);
    expect((await readAt(1))!.jwt).toBe(current);
    expect(await readAt(1, current)).toMatchObject({ jwt: undefined });
    await database.replicas[1]!.raw(undefined, (sql) =>
      sql.run('UPDATE status_publications SET jwt = ? WHERE list_id = ? AND version = ?', [
        'after.recreate.signature',
        listId,
        version,
      ]),
    );
    expect(await readAt(1, current)).toMatchObject({ jwt: 'after.recreate.signature' });
    await tamper(current);
  });

  it('SQLite: REPLACE on its own connection that deletes the newest row of a list', async () => {
    if (database.kind !== 'sqlite') return;
    await publish('v.replace.newest');
    const newest = (await readAt(1))!;
    expect(await readAt(1, 'v.replace.newest')).toMatchObject({ jwt: undefined });
    await database.replicas[1]!.raw(undefined, (sql) =>
      sql.run(
        'INSERT OR REPLACE INTO status_publications (id, list_id, purpose, version, seq, jwt, digest, outbox_id, created_at) ' +
          "SELECT id, list_id, 'revocation', version, seq, jwt, digest, outbox_id, created_at FROM status_publications WHERE list_id = ? AND version = ?",
        [listId, newest.version],
      ),
    );
    const after = await database.replicas[1]!.raw(undefined, (sql) =>
      sql.all<{ version: number }>(
        "SELECT max(version) AS version FROM status_publications WHERE list_id = ? AND purpose = 'token'",
        [listId],
      ),
    );
    expect(after[0]!.version).toBe(newest.version - 1);
    expect(await readAt(1, 'v.replace.newest')).toMatchObject({ version: newest.version - 1 });
  });

  it('PostgreSQL: without a notification a warm replica keeps its memory; with its listener down it reads every time', async () => {
    if (database.kind !== 'postgres') return;
    const feed = feedOf(1) as PgChangeFeed;
    // Every earlier publication's notification is heard before the warm read is remembered.
    await heardSoFar(database, 1, [STATUS_PUBLICATIONS]);
    const current = (await readAt(1))!.jwt!;
    expect(await readAt(1, current)).toMatchObject({ jwt: undefined });
    // Without a notification the warm replica keeps answering from memory: that is what the trigger is for.
    await unnotified(database, ['status_publications'], () => tamper('unnotified.change.signature'));
    expect(await readAt(1, current)).toMatchObject({ jwt: undefined });
    const cold = new StatusRepository(database.replicas[0]!);
    expect(await cold.latestPublicationHead(listId, 'token', known(current))).toMatchObject({
      jwt: 'unnotified.change.signature',
    });

    // Its listening connection is cut: from then on it reads the database every time until it listens again.
    await cutChangeFeedListeners(database);
    await eventually(async () => (feed.live ? undefined : true), 10_000, 10);
    expect(await readAt(1, current)).toMatchObject({ jwt: 'unnotified.change.signature' });
    await eventually(async () => (feed.live ? true : undefined));
    await readAt(1, 'unnotified.change.signature');
    expect(await readAt(1, 'unnotified.change.signature')).toMatchObject({ jwt: undefined });
    await tamper(current);
    expect(await eventually(async () => (await readAt(1, 'unnotified.change.signature'))?.jwt)).toBe(current);
  });
});
