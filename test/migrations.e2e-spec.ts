import type { DataSource } from 'typeorm';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { Database, openDataSource } from '../src/persistence/index.js';
import { sha256Hex } from '../src/common/index.js';
import { NonceRepository } from '../src/issuer/credential-endpoint/nonce.repository.js';
import { testDatabase } from './support/test-app.js';

/**
 * Replicas that start together on an empty or older database (compose, rolling upgrades) each run the
 * migrations at start-up: on PostgreSQL they take turns on an advisory lock, so every replica starts and
 * each migration runs once. SQLite has one writer; its replicas are refused (cluster mode), so there the
 * test shows that opening an already migrated file again runs nothing twice.
 */
describe('migrations with several replicas', () => {
  it('lets replicas starting at once all open the database, each migration applied once', async () => {
    const sources: DataSource[] = [];
    const shared = await testDatabase('migrations');
    const database = shared.config;
    try {
      if (database.kind === 'postgres') {
        sources.push(...(await Promise.all([1, 2, 3].map(() => openDataSource(database, entities, migrations)))));
      } else {
        for (let i = 0; i < 3; i++) sources.push(await openDataSource(database, entities, migrations));
      }
      const applied = (await sources[0]!.query('SELECT name FROM migrations')) as { name: string }[];
      expect(applied.map((row) => row.name).sort()).toEqual(migrations.map((migration) => migration.name).sort());
    } finally {
      for (const source of sources) await source.destroy();
      await shared.drop();
    }
  });

  it('hashes the c_nonces already stored when nonces become digests, so outstanding ones still work', async () => {
    const shared = await testDatabase('noncedigests');
    const before = migrations.findIndex((migration) => migration.name === 'NonceDigests1766400000000');
    expect(before).toBeGreaterThan(0);
    const older = await openDataSource(shared.config, entities, migrations.slice(0, before));
    let current: DataSource | undefined;
    let db: Database | undefined;
    try {
      const param = (n: number) => (shared.kind === 'postgres' ? `$${n}` : '?');
      const later = new Date(Date.now() + 300_000);
      // As TypeORM writes a Date: a timestamp on PostgreSQL, UTC text on SQLite.
      const expiresAt = shared.kind === 'postgres' ? later : later.toISOString().replace('T', ' ').replace('Z', '');
      await older.query(`INSERT INTO oid4vci_nonces (nonce, expires_at, used_at) VALUES (${param(1)}, ${param(2)}, NULL)`, [
        'outstanding-nonce',
        expiresAt,
      ]);
      await older.destroy();
      current = await openDataSource(shared.config, entities, migrations);
      const rows = (await current.query('SELECT nonce_hash FROM oid4vci_nonces')) as { nonce_hash: string }[];
      expect(rows).toEqual([{ nonce_hash: sha256Hex('outstanding-nonce') }]);
      db = new Database(current);
      const nonces = new NonceRepository(db);
      expect(await nonces.consume('outstanding-nonce', new Date())).toBe(true);
      expect(await nonces.consume('outstanding-nonce', new Date())).toBe(false);
    } finally {
      if (older.isInitialized) await older.destroy();
      // The Database's WAL checkpointer and flush file close too: a checkpoint still writing raced the removal.
      await (db ? db.onApplicationShutdown() : current?.destroy());
      await shared.drop();
    }
  });
});
