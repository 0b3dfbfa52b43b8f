import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { AGENCIES, AGENCY_API_KEYS, AgencyRepository } from '../../src/issuer/agencies/agency.repository.js';
import type { PgChangeFeed } from '../../src/persistence/index.js';
import {
  cutChangeFeedListeners,
  heardSoFar,
  insertAgency,
  openContractDatabase,
  unnotified,
  type ContractDatabase,
} from './contract-database.js';
import { eventually } from '../support/test-app.js';

/**
 * The agency guard's lookup of an API key, with replicas (ADR 23): a warm replica answers from memory
 * while the change feeds of `agency_api_keys` and `agencies` vouch, and a key revoked or an agency changed
 * by any writer (another replica, a connection by hand) is refused or seen changed. PostgreSQL: by the
 * tables' notifications, and with the listening connection down every lookup reads the database; SQLite:
 * TEMP triggers on its own connection and `PRAGMA data_version` for the others, so at once.
 */
describe('agency API keys across replicas (repository contract)', () => {
  let database: ContractDatabase;
  let repositories: AgencyRepository[];
  let agencyId: string;

  beforeAll(async () => {
    database = await openContractDatabase('agency_api_keys', 2);
    repositories = database.replicas.map((db) => new AgencyRepository(db));
    agencyId = await insertAgency(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A new active key of the agency, inserted through replica 0; returns its prefix. */
  async function newKey(): Promise<string> {
    const prefix = randomUUID().replace(/-/g, '').slice(0, 12);
    await repositories[0]!.insertApiKey(undefined, {
      id: randomUUID(),
      agencyId,
      prefix,
      secretHash: 'a'.repeat(64),
      label: 'contract',
      createdAt: new Date(),
      revokedAt: null,
    });
    return prefix;
  }
  const lookup = (replica: number, prefix: string) => repositories[replica]!.byActiveApiKey(prefix);
  const feedOf = (replica: number, table: 'agencies' | 'agency_api_keys') =>
    database.replicas[replica]!.changeFeed(table === 'agencies' ? AGENCIES : AGENCY_API_KEYS);
  /** Replica 1 has the key in memory: the second lookup runs no statement. */
  async function warm(prefix: string): Promise<void> {
    // PostgreSQL: the feeds listen, and the notification of the key's insert cannot arrive after it is remembered.
    await heardSoFar(database, 1, [AGENCIES, AGENCY_API_KEYS]);
    expect(await lookup(1, prefix)).not.toBeNull();
    const statements = jest.spyOn(database.replicas[1]!, 'raw');
    try {
      expect(await lookup(1, prefix)).not.toBeNull();
      expect(statements).not.toHaveBeenCalled();
    } finally {
      statements.mockRestore();
    }
  }
  const byHand = (statement: string, params: unknown[]) =>
    database.db.raw(undefined, (sql) => sql.run(database.db.driver.sql(statement), params));

  it('refuses on a warm replica a key revoked through another replica', async () => {
    const prefix = await newKey();
    await warm(prefix);
    expect(await repositories[0]!.revokeApiKey(agencyId, prefix, new Date())).toBe(true);
    // SQLite: at once (data_version); PostgreSQL: as soon as the notification arrives.
    if (database.kind === 'sqlite') expect(await lookup(1, prefix)).toBeNull();
    else await eventually(async () => ((await lookup(1, prefix)) === null ? true : undefined), 10_000, 10);
  });

  it('refuses a key it revoked itself at once, without waiting for the notification', async () => {
    const prefix = await newKey();
    await warm(prefix);
    await unnotified(database, ['agency_api_keys', 'agencies'], () =>
      repositories[1]!.revokeApiKey(agencyId, prefix, new Date()),
    );
    expect(await lookup(1, prefix)).toBeNull();
  });

  it('sees a key revoked and an agency changed by hand', async () => {
    const prefix = await newKey();
    await warm(prefix);
    await byHand('UPDATE agencies SET status = ? WHERE id = ?', ['anchoring', agencyId]);
    expect(await eventually(async () => ((await lookup(1, prefix))?.agency.status === 'anchoring' ? true : undefined))).toBe(
      true,
    );
    await byHand('UPDATE agencies SET status = ? WHERE id = ?', ['active', agencyId]);
    await eventually(async () => ((await lookup(1, prefix))?.agency.status === 'active' ? true : undefined));
    await warm(prefix);
    await byHand('UPDATE agency_api_keys SET revoked_at = ? WHERE prefix = ?', [database.db.driver.date(new Date()), prefix]);
    await eventually(async () => ((await lookup(1, prefix)) === null ? true : undefined), 10_000, 10);
  });

  it('does not keep a key read just before another replica revoked it', async () => {
    await warm(await newKey()); // the feeds vouch
    const prefix = await newKey();
    const replica = database.replicas[1]!;
    const raw = replica.raw.bind(replica);
    // Replica 1 reads the key; replica 0 revokes it before replica 1 decides whether to keep what it read.
    const statements = jest.spyOn(replica, 'raw').mockImplementation(async (tx, fn) => {
      const read = await raw(tx, fn);
      expect(await repositories[0]!.revokeApiKey(agencyId, prefix, new Date())).toBe(true);
      return read;
    });
    try {
      expect(await lookup(1, prefix)).not.toBeNull(); // read before the revocation committed
    } finally {
      statements.mockRestore();
    }
    // SQLite: data_version moved when replica 1 vouched for what it read; PostgreSQL: the notification.
    if (database.kind === 'sqlite') expect(await lookup(1, prefix)).toBeNull();
    else await eventually(async () => ((await lookup(1, prefix)) === null ? true : undefined), 10_000, 10);
  });

  it('never remembers a prefix it did not find: a key created after a miss works at once', async () => {
    const prefix = randomUUID().replace(/-/g, '').slice(0, 12);
    expect(await lookup(1, prefix)).toBeNull();
    await unnotified(database, ['agency_api_keys', 'agencies'], () =>
      repositories[0]!.insertApiKey(undefined, {
        id: randomUUID(),
        agencyId,
        prefix,
        secretHash: 'b'.repeat(64),
        label: 'after a miss',
        createdAt: new Date(),
        revokedAt: null,
      }),
    );
    expect(await lookup(1, prefix)).toMatchObject({ secretHash: 'b'.repeat(64), agency: { id: agencyId } });
  });

  it('PostgreSQL: without a notification a warm replica keeps its memory; with its listener down it reads every time', async () => {
    if (database.kind !== 'postgres') return;
    const prefix = await newKey();
    await warm(prefix);
    // Without a notification the warm replica answers from memory: that is what the triggers are for.
    await unnotified(database, ['agency_api_keys', 'agencies'], () =>
      byHand('UPDATE agency_api_keys SET revoked_at = ? WHERE prefix = ?', [new Date(), prefix]),
    );
    expect(await lookup(1, prefix)).not.toBeNull();
    expect(await new AgencyRepository(database.replicas[0]!).byActiveApiKey(prefix)).toBeNull();

    // Its listening connections are cut: from then on it reads the database every time until they listen again.
    const feed = feedOf(1, 'agency_api_keys') as PgChangeFeed;
    await cutChangeFeedListeners(database);
    await eventually(async () => (feed.live ? undefined : true), 10_000, 10);
    expect(await lookup(1, prefix)).toBeNull();
  });

  it('SQLite: inside a transaction on its connection it reads the database, and keeps its memory for after', async () => {
    if (database.kind !== 'sqlite') return;
    const prefix = await newKey();
    await warm(prefix);
    let inside!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const open = database.replicas[1]!.transaction(async (tx) => {
      await tx.query('SELECT count(*) FROM agencies');
      inside();
      await gate;
    });
    await entered;
    // Another connection revokes the key while replica 1's transaction is open: its lookup (queued behind
    // the transaction) must not be answered from memory.
    await repositories[0]!.revokeApiKey(agencyId, prefix, new Date());
    const during = lookup(1, prefix);
    release();
    await open;
    expect(await during).toBeNull();

    // A key untouched while a transaction was open is still remembered afterwards (the memory by its name).
    const kept = await newKey();
    await warm(kept);
    const memory = database.replicas[1]!.remembered<object>('agency-api-keys', [], { max: 1, ttlMs: 1 });
    await database.replicas[1]!.transaction(async (tx) => {
      await tx.query('SELECT 1');
      expect(memory.get(kept)).toBeUndefined();
    });
    expect(memory.get(kept)).toMatchObject({ agency: { id: agencyId } });
  });
});
