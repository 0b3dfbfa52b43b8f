import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { entities } from '../../src/entities.js';
import { migrations } from '../../migrations/index.js';
import { CHANGE_FEED_APPLICATION_NAME, Database, openDataSource, type WatchedTable } from '../../src/persistence/index.js';
import { AgencyRepository } from '../../src/issuer/agencies/agency.repository.js';
import { StatusRepository } from '../../src/status/status.repository.js';
import { testDatabase } from '../support/test-app.js';

/**
 * A migrated database of its own (SQLite file or PostgreSQL database, following the jest project) opened
 * by several independent connections, as replicas would: `replicas[i]` is one Database each, with its own
 * pool (PostgreSQL) or its own connection and write queue (SQLite). No app and no chain.
 */
export interface ContractDatabase {
  kind: 'sqlite' | 'postgres';
  replicas: Database[];
  /** The first replica, for setting up fixtures. */
  db: Database;
  close(): Promise<void>;
}

export async function openContractDatabase(label: string, replicaCount = 3): Promise<ContractDatabase> {
  const shared = await testDatabase(label);
  const sources: DataSource[] = [];
  // One after the other: the first run applies the migrations, the others find nothing pending.
  for (let i = 0; i < replicaCount; i++) sources.push(await openDataSource(shared.config, entities, migrations));
  const replicas = sources.map((source) => new Database(source));
  return {
    kind: shared.kind,
    replicas,
    db: replicas[0]!,
    async close() {
      // Closes each replica's change feeds, then its connections.
      for (const replica of replicas) await replica.onApplicationShutdown();
      await shared.drop();
    },
  };
}

/**
 * Starts `callers` calls of `attempt` at once, spread round-robin over the replicas, and returns their
 * results in caller order. Every call is started before any is awaited.
 */
export function race<T>(
  replicas: Database[],
  callers: number,
  attempt: (db: Database, caller: number) => Promise<T>,
): Promise<T[]> {
  return Promise.all(Array.from({ length: callers }, (_, caller) => attempt(replicas[caller % replicas.length]!, caller)));
}

/** How many callers won (returned true). */
export const winners = (results: boolean[]): number => results.filter(Boolean).length;

/** Concurrent callers per race: enough to overlap on PostgreSQL's pools and on SQLite's write queues. */
export const CALLERS = 16;

export const minutesFrom = (now: Date, minutes: number): Date => new Date(now.getTime() + minutes * 60_000);

/** An agency row for the tables that reference one; its keys are never used here. */
export async function insertAgency(db: Database): Promise<string> {
  const id = randomUUID();
  await db.transaction((tx) =>
    new AgencyRepository(db).insert(tx, {
      id,
      slug: `agency-${id.slice(0, 8)}`,
      name: 'Contract Test Agency',
      did: `did:ethr:0x539:0x${id.replace(/-/g, '').padEnd(40, '0').slice(0, 40)}`,
      controllerKeyId: randomUUID(),
      signingKeyId: randomUUID(),
      signingKid: null,
      serviceEndpoint: 'https://agency.example',
      status: 'active',
      createdAt: new Date(),
    }),
  );
  return id;
}

/** A token status list of a new agency (its keys are never used here); returns the list's id. */
export async function insertTokenList(db: Database): Promise<string> {
  const agencyId = await insertAgency(db);
  const id = randomUUID();
  await db.transaction((tx) =>
    new StatusRepository(db).insertList(tx, {
      id,
      agencyId,
      kind: 'token',
      size: 1024,
      used: 0,
      issuerDid: 'did:ethr:0x539:0x0000000000000000000000000000000000000001',
      signingKeyId: randomUUID(),
      signingKid: 'did:ethr:0x539:0x0000000000000000000000000000000000000001#key-1',
      controllerKeyId: randomUUID(),
      revocationSeq: 0,
      suspensionSeq: 0,
      createdAt: new Date(),
      publisherLeaseOwner: null,
      publisherLeaseUntil: null,
    }),
  );
  return id;
}

/**
 * Runs `change` with the PostgreSQL notify triggers of `tables` off (`<table>_notify`), so only what a
 * replica remembered can hide it; on SQLite (no such triggers) it just runs.
 */
export async function unnotified(database: ContractDatabase, tables: string[], change: () => Promise<unknown>): Promise<void> {
  if (database.kind === 'sqlite') {
    await change();
    return;
  }
  const toggle = (state: 'DISABLE' | 'ENABLE') =>
    database.db.raw(undefined, async (sql) => {
      for (const table of tables) await sql.run(`ALTER TABLE ${table} ${state} TRIGGER ${table}_notify`, []);
    });
  await toggle('DISABLE');
  try {
    await change();
  } finally {
    await toggle('ENABLE');
  }
}

/** PostgreSQL: terminates every change-feed listening connection on the contract database. */
export async function cutChangeFeedListeners(database: ContractDatabase): Promise<void> {
  await database.db.raw(undefined, (sql) =>
    sql.all(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [CHANGE_FEED_APPLICATION_NAME],
    ),
  );
}

/**
 * PostgreSQL: resolves once replica `replica`'s feeds of `tables` are listening and have heard every
 * notification committed before the call, so a late one cannot drop what the test remembers afterwards.
 * A fence notification (a random key, which names no row) is sent on each channel: PostgreSQL delivers a
 * channel's notifications in commit order, so hearing the fence means hearing everything before it. On
 * SQLite the feeds hear their own connection's changes synchronously: nothing to wait for.
 */
export async function heardSoFar(database: ContractDatabase, replica: number, tables: WatchedTable[]): Promise<void> {
  if (database.kind !== 'postgres') return;
  for (const table of tables) {
    const feed = database.replicas[replica]!.changeFeed(table)!;
    const live = Date.now() + 10_000;
    while (!feed.vouch()) {
      if (Date.now() > live) throw new Error(`the change feed of ${table.table} does not listen`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const fence = `fence-${randomUUID()}`;
    const heard = new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`the fence on ${table.channel} was not heard`)), 10_000);
      feed.subscribe((event) => {
        if ('key' in event && event.key === fence) {
          clearTimeout(timeout);
          resolve();
        }
      });
    });
    await database.db.raw(undefined, (sql) => sql.all('SELECT pg_notify($1, $2)', [table.channel, fence]));
    await heard;
  }
}
