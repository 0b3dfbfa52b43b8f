import type { DataSource } from 'typeorm';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { Database, openDataSource } from '../src/persistence/index.js';
import { sha256Hex } from '../src/common/index.js';
import { NonceRepository } from '../src/issuer/credential-endpoint/nonce.repository.js';
import { OutboxEntity } from '../src/chain/outbox.entity.js';
import { testDatabase } from './support/test-app.js';

/**
 * Replicas that start together on an empty or older database (compose, rolling upgrades) each run the
 * migrations at start-up: on PostgreSQL they take turns on an advisory lock, so every replica starts and
 * each migration runs once. SQLite has one writer; its replicas are refused (cluster mode), so there the
 * test shows that opening an already migrated file again runs nothing twice.
 */
/** A fresh database with every migration before `name` applied (name must be one of ours, not the first). */
async function migratedUpTo(name: string, label: string) {
  const shared = await testDatabase(label);
  const before = migrations.findIndex((migration) => migration.name === name);
  expect(before).toBeGreaterThan(0);
  return { shared, older: await openDataSource(shared.config, entities, migrations.slice(0, before)) };
}

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
    const { shared, older } = await migratedUpTo('NonceDigests1766400000000', 'noncedigests');
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

  it('widens key rows for RSA and gives stored portals ES256 ID tokens, keeping rows and their references', async () => {
    const { shared, older } = await migratedUpTo('RsaIdTokens1767700000000', 'rsaidtokens');
    let current: DataSource | undefined;
    try {
      const params = (count: number) =>
        Array.from({ length: count }, (_, i) => (shared.kind === 'postgres' ? `$${i + 1}` : '?')).join(', ');
      const now = shared.kind === 'postgres' ? new Date() : new Date().toISOString().replace('T', ' ').replace('Z', '');
      const keyId = '0b7e6a52-5d1f-4b7a-9c1e-2f3a4b5c6d7e';
      await older.query(
        `INSERT INTO keys (id, algorithm, purpose, owner_ref, public_key_hex, address, backend, secret_ref, created_at)
         VALUES (${params(9)})`,
        [keyId, 'ES256', 'service-account', 'oid4vci:token', `04${'ab'.repeat(64)}`, null, 'local', 'sealed', now],
      );
      // A row that references the key: SQLite rebuilds the keys table, which must not break or drop it.
      await older.query(
        `INSERT INTO oid4vci_token_keys (generation, key_id, kid, public_jwk, created_at) VALUES (${params(5)})`,
        [1, keyId, 'kid-1', '{}', now],
      );
      await older.query(
        `INSERT INTO oidc_clients (id, name, redirect_uris, scopes, token_endpoint_auth_method, secret_hash, jwks,
           data_sharing_permission, created_at) VALUES (${params(9)})`,
        ['6f1c1e9e-8a3b-4c55-9a57-1d2f3e4a5b6c', 'Portal', '[]', '[]', 'client_secret_basic', 'ab'.repeat(32), null, null, now],
      );
      await older.destroy();
      current = await openDataSource(shared.config, entities, migrations);
      expect(await current.query('SELECT id, public_key_hex FROM keys')).toEqual([
        { id: keyId, public_key_hex: `04${'ab'.repeat(64)}` },
      ]);
      expect(await current.query('SELECT key_id FROM oid4vci_token_keys')).toEqual([{ key_id: keyId }]);
      expect(await current.query('SELECT id_token_signed_response_alg FROM oidc_clients')).toEqual([
        { id_token_signed_response_alg: 'ES256' },
      ]);
      if (shared.kind === 'sqlite') expect(await current.query('PRAGMA foreign_key_check')).toEqual([]);
      // An RSA 4096 SubjectPublicKeyInfo in hex fits now (PostgreSQL refused more than 140 characters before).
      await current.query(
        `INSERT INTO keys (id, algorithm, purpose, owner_ref, public_key_hex, address, backend, secret_ref, created_at)
         VALUES (${params(9)})`,
        [
          '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
          'RS256',
          'service-account',
          'oidc:id-token',
          'cd'.repeat(550),
          null,
          'local',
          'sealed',
          now,
        ],
      );
    } finally {
      if (older.isInitialized) await older.destroy();
      await current?.destroy();
      await shared.drop();
    }
  });

  it('keeps outbox block times past January 2038 (64-bit), and the rows recorded before', async () => {
    const { shared, older } = await migratedUpTo('OutboxChainNumbers64Bit1767800000000', 'outbox64');
    let current: DataSource | undefined;
    const row = (id: string, seq: number, blockTimestamp: number) => ({
      id,
      seq,
      chainId: 7777,
      signerKeyId: '0b7e6a52-5d1f-4b7a-9c1e-2f3a4b5c6d7e',
      toAddress: null,
      data: '0x',
      purpose: 'test:mined',
      ref: null,
      status: 'mined' as const,
      nonce: seq,
      rawTx: null,
      txHash: `0x${String(seq).padStart(64, '0')}`,
      blockNumber: seq,
      gasUsed: 21_000,
      blockTimestamp,
      contractAddress: null,
      attempts: 1,
      lastError: null,
      leaseUntil: null,
      claimedBy: null,
      createdAt: new Date(),
      updatedAt: new Date(),
      minedAt: new Date(),
    });
    const after2038 = 4_102_444_800; // 2100-01-01T00:00:00Z
    try {
      await older.getRepository(OutboxEntity).insert(row('7d0c1b2a-0000-4000-8000-000000000001', 1, 1_767_225_600));
      // What the worker met before: PostgreSQL refused the mined row's block time ("integer out of range").
      const refusedBefore = await older
        .getRepository(OutboxEntity)
        .insert(row('7d0c1b2a-0000-4000-8000-000000000002', 2, after2038))
        .then(() => false)
        .catch(() => true);
      expect(refusedBefore).toBe(shared.kind === 'postgres');
      await older.query(`DELETE FROM outbox WHERE seq = 2`);
      await older.destroy();
      current = await openDataSource(shared.config, entities, migrations);
      const outbox = current.getRepository(OutboxEntity);
      await outbox.insert({ ...row('7d0c1b2a-0000-4000-8000-000000000003', 3, after2038), gasUsed: 3_000_000_000 });
      const rows = await outbox.find({ order: { seq: 'ASC' } });
      expect(
        rows.map(({ seq, blockTimestamp, gasUsed, blockNumber }) => ({ seq, blockTimestamp, gasUsed, blockNumber })),
      ).toEqual([
        { seq: 1, blockTimestamp: 1_767_225_600, gasUsed: 21_000, blockNumber: 1 },
        { seq: 3, blockTimestamp: after2038, gasUsed: 3_000_000_000, blockNumber: 3 },
      ]);
    } finally {
      if (older.isInitialized) await older.destroy();
      await current?.destroy();
      await shared.drop();
    }
  });
});
