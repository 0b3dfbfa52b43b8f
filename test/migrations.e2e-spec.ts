import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { openDataSource } from '../src/persistence/index.js';

/**
 * Replicas that start together on an empty or older database (compose, rolling upgrades) each run the
 * migrations at start-up: on PostgreSQL they take turns on an advisory lock, so every replica starts and
 * each migration runs once. SQLite has one writer; its replicas are refused (cluster mode), so there the
 * test shows that opening an already migrated file again runs nothing twice.
 */
describe('migrations with several replicas', () => {
  it('lets replicas starting at once all open the database, each migration applied once', async () => {
    const sources: DataSource[] = [];
    let database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
    let drop: () => Promise<void>;
    if (process.env.TEST_DB === 'postgres') {
      const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
      const name = `chancery_migrations_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      database = { kind: 'postgres', url: url.toString() };
      drop = async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'chancery-migrations-'));
      database = { kind: 'sqlite', path: join(dir, 'shared.sqlite') };
      drop = async () => rmSync(dir, { recursive: true, force: true });
    }
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
      await drop();
    }
  });
});
