import type { DataSource } from 'typeorm';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { openDataSource } from '../src/persistence/index.js';
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
});
