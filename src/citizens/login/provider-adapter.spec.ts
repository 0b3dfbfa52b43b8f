import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../common/index.js';
import { LocalKeyBackend } from '../../keys/index.js';
import { storageAdapter, type StorageDependencies } from './provider-adapter.js';
import type { OidcClientEntity, OidcRecordEntity } from './login.entity.js';
import type { OidcClientRepository, OidcRecordRepository } from './provider-records.repository.js';

class AlreadyUsed extends Error {}

/** The repository's contract in memory: consume is compare-and-set, as the conditional UPDATE is. */
function memoryRecords() {
  const rows = new Map<string, OidcRecordEntity>();
  const key = (model: string, idHash: string) => `${model}/${idHash}`;
  const repository = {
    async upsert(record: Omit<OidcRecordEntity, 'consumedAt'>) {
      const existing = rows.get(key(record.model, record.idHash));
      rows.set(key(record.model, record.idHash), { ...record, consumedAt: existing?.consumedAt ?? null });
    },
    async byId(model: string, idHash: string) {
      return rows.get(key(model, idHash)) ?? null;
    },
    async byUid(model: string, uidHash: string) {
      return [...rows.values()].find((row) => row.model === model && row.uidHash === uidHash) ?? null;
    },
    async consume(model: string, idHash: string, at: Date) {
      await new Promise((resolve) => setImmediate(resolve));
      const row = rows.get(key(model, idHash));
      if (!row || row.consumedAt) return false;
      row.consumedAt = at;
      return true;
    },
    async delete(model: string, idHash: string) {
      rows.delete(key(model, idHash));
    },
    async deleteByGrant(model: string, grantIdHash: string) {
      for (const [id, row] of rows) if (row.model === model && row.grantIdHash === grantIdHash) rows.delete(id);
    },
  };
  return { rows, repository: repository as unknown as OidcRecordRepository };
}

describe('oidc-provider storage adapter', () => {
  const backend = new LocalKeyBackend(randomBytes(32));
  let now = new Date('2026-12-01T10:00:00Z');
  const records = memoryRecords();
  const client: OidcClientEntity = {
    id: '6f1c1e9e-8a3b-4c55-9a57-1d2f3e4a5b6c',
    name: 'Housing portal',
    redirectUris: ['https://portal.example/callback'],
    scopes: ['resident_identity'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    idTokenSignedResponseAlg: 'ES256',
    secretHash: 'ab'.repeat(32),
    jwks: null,
    dataSharingPermission: null,
    createdAt: now,
  };
  const deps: StorageDependencies = {
    records: records.repository,
    clients: { byId: async (id: string) => (id === client.id ? client : null) } as unknown as OidcClientRepository,
    seal: async (value, context) => backend.encryptData(Buffer.from(JSON.stringify(value)), context),
    open: async (sealed, context) => JSON.parse(Buffer.from(await backend.decryptData(sealed, context)).toString()),
    alreadyUsed: () => new AlreadyUsed(),
    now: () => now,
    guard: (work) => {
      guarded++;
      return work();
    },
  };
  let guarded = 0;
  const Adapter = storageAdapter(deps);

  it('runs every storage call through the guard (a database outage becomes temporarily_unavailable there)', async () => {
    guarded = 0;
    const grants = new Adapter('Grant');
    await grants.upsert('g', { grantId: 'g' }, 60);
    await grants.find('g');
    await grants.findByUid('u');
    await grants.consume('g');
    await grants.revokeByGrantId('g');
    await grants.destroy('g');
    await new Adapter('Client').find(client.id);
    expect(guarded).toBe(7);
  });

  it('stores records under the SHA-256 of their id, sealed, and finds them until they expire', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('the-code-value', { jti: 'the-code-value', grantId: 'grant-1', accountId: 'acc' }, 60);
    const row = [...records.rows.values()].find((entry) => entry.model === 'AuthorizationCode')!;
    expect(row.idHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain('the-code-value');
    expect(JSON.stringify(row)).not.toContain('grant-1');
    expect(await codes.find('the-code-value')).toEqual({ jti: 'the-code-value', grantId: 'grant-1', accountId: 'acc' });
    expect(await codes.find('another-code')).toBeUndefined();
    // A payload copied under another id does not open: the seal is bound to model and id.
    const otherHash = sha256Hex('other-code');
    records.rows.set(`AuthorizationCode/${otherHash}`, { ...row, idHash: otherHash });
    await expect(codes.find('other-code')).rejects.toThrow();
    now = new Date(now.getTime() + 61_000);
    expect(await codes.find('the-code-value')).toBeUndefined();
  });

  it('lets exactly one of many concurrent consumers use a code; the others get the library error', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('code-2', { jti: 'code-2', grantId: 'grant-2' }, 60);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => codes.consume('code-2')));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((entry) => entry.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(AlreadyUsed);
    }
    // The library sees the record as consumed (and revokes the grant on a replay).
    expect(await codes.find('code-2')).toEqual(expect.objectContaining({ consumed: expect.any(Number) }));
    // An upsert does not make a used record usable again.
    await codes.upsert('code-2', { jti: 'code-2', grantId: 'grant-2' }, 60);
    await expect(codes.consume('code-2')).rejects.toBeInstanceOf(AlreadyUsed);
  });

  it('finds sessions by uid, revokes by grant, destroys, and serves registered clients read-only', async () => {
    const sessions = new Adapter('Session');
    await sessions.upsert('session-id', { uid: 'session-uid', accountId: 'acc' }, 600);
    expect(await sessions.findByUid('session-uid')).toEqual({ uid: 'session-uid', accountId: 'acc' });
    await sessions.destroy('session-id');
    expect(await sessions.findByUid('session-uid')).toBeUndefined();

    const tokens = new Adapter('AccessToken');
    await tokens.upsert('token-1', { grantId: 'grant-3' }, 600);
    await tokens.upsert('token-2', { grantId: 'grant-4' }, 600);
    await tokens.revokeByGrantId('grant-3');
    expect(await tokens.find('token-1')).toBeUndefined();
    expect(await tokens.find('token-2')).toEqual({ grantId: 'grant-4' });

    const clients = new Adapter('Client');
    expect(await clients.find(client.id)).toEqual(
      expect.objectContaining({ client_id: client.id, client_secret: client.secretHash, subject_type: 'pairwise' }),
    );
    expect(await clients.find('not-a-uuid')).toBeUndefined();
    await expect(clients.upsert(client.id, {}, 60)).rejects.toThrow(/operator API/);
    expect(await new Adapter('DeviceCode').findByUserCode()).toBeUndefined();
  });
});
