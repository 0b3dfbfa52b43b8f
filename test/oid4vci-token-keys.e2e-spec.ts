import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { entities } from '../src/entities.js';
import { migrations } from '../migrations/index.js';
import { Database, openDataSource } from '../src/persistence/index.js';
import { ecPublicJwk, KeyRepository, KeyService, LocalKeyBackend } from '../src/keys/index.js';
import { TokenKeyRepository } from '../src/issuer/authorization-server/token-key.repository.js';
import { ACCESS_TOKEN_KEY_OWNER, TokenKeys } from '../src/issuer/authorization-server/token-keys.js';
import { Oid4vciTokenKeyEntity } from '../src/issuer/authorization-server/token-key.entity.js';
import { testDatabase } from './support/test-app.js';

/**
 * Issue 11: replicas share one database, each with its own connection pool and key cache. Two data
 * sources on one SQLite file or one PostgreSQL database stand for two replicas (the e2e projects run this
 * file on each database).
 */
describe('OID4VCI access-token keys across replicas', () => {
  let database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  let drop: () => Promise<void>;
  const databases: Database[] = [];
  const keyServices: KeyService[] = [];
  const masterKey = randomBytes(32);

  beforeEach(async () => {
    const shared = await testDatabase('keys');
    database = shared.config;
    drop = () => shared.drop();
  });
  afterEach(async () => {
    // The Database closes its WAL checkpointer and flush file too, before the directory is removed.
    for (const keys of keyServices.splice(0)) await keys.onApplicationShutdown();
    for (const db of databases.splice(0)) await db.onApplicationShutdown();
    await drop();
  });

  /** One replica: its own data source (pool / connection), key service and token-key cache(s). */
  async function replica(caches = 3) {
    const db = new Database(await openDataSource(database, entities, migrations));
    databases.push(db);
    const keys = new KeyService(new KeyRepository(db), new LocalKeyBackend(masterKey));
    keyServices.push(keys);
    const repository = new TokenKeyRepository(db);
    return { db, keys, repository, tokenKeys: Array.from({ length: caches }, () => new TokenKeys(repository, keys)) };
  }
  const rows = (r: { db: Database }) => r.db.use(undefined, (m) => m.getRepository(Oid4vciTokenKeyEntity).find());

  it('creates the first key once when replicas race, and every replica signs with it', async () => {
    const a = await replica();
    const b = await replica();
    const all = [...a.tokenKeys, ...b.tokenKeys];
    const ensured = await Promise.all(all.map((keys) => keys.ensure()));
    expect(new Set(ensured.map((key) => key.kid)).size).toBe(1);
    expect(await rows(a)).toHaveLength(1);
    const current = await Promise.all(all.map((keys) => keys.current()));
    expect(new Set(current.map((key) => key.kid))).toEqual(new Set([ensured[0]!.kid]));
  });

  it('rotates once under concurrent rotations; a replica learns a new kid on a miss and keeps the old one active', async () => {
    const a = await replica(1);
    const b = await replica(1);
    const first = await a.tokenKeys[0]!.ensure();
    expect((await b.tokenKeys[0]!.current()).kid).toBe(first.kid);
    const [ra, rb] = await Promise.all([a.tokenKeys[0]!.rotate(600), b.tokenKeys[0]!.rotate(600)]);
    expect(ra.generation).toBe(2);
    expect(rb.generation).toBe(2);
    expect(ra.kid).toBe(rb.kid);
    expect(await rows(a)).toHaveLength(2);
    const c = await replica(1);
    expect((await c.tokenKeys[0]!.active()).map((key) => key.kid)).toEqual([ra.kid, first.kid]);
    expect((await c.tokenKeys[0]!.byKid(first.kid))?.generation).toBe(1);
    // A replica that read the keys just before another one rotated: a token signed with the new key reaches
    // it at once, and is not refused for coming within a second of that read (the kid is read again).
    await a.tokenKeys[0]!.byKid(first.kid);
    const freshRead = jest.spyOn(a.repository, 'active');
    await (a.tokenKeys[0] as unknown as { reload(): Promise<void> }).reload();
    const rotated = await b.tokenKeys[0]!.rotate(600);
    try {
      expect((await a.tokenKeys[0]!.byKid(rotated.kid))?.generation).toBe(3);
      expect(freshRead).toHaveBeenCalledTimes(2);
    } finally {
      freshRead.mockRestore();
    }
    // A key drops out once its grace period is over (generation 3, retired by the rotation to 4 with no grace);
    // generations 1 and 2 keep their own.
    await a.tokenKeys[0]!.rotate(0);
    const d = await replica(1);
    expect((await d.tokenKeys[0]!.active()).map((key) => key.generation)).toEqual([4, 2, 1]);
  });

  it('reads the keys once for a burst of requests, when the view expires and for unknown kids', async () => {
    const a = await replica(1);
    const keys = a.tokenKeys[0]!;
    await keys.ensure();
    const reads = jest.spyOn(a.repository, 'active');
    const started = Date.now();
    const clock = jest.spyOn(Date, 'now');
    try {
      // The view is past REFRESH_MS: twenty requests (here with kids nobody signed with) share one read.
      clock.mockReturnValue(started + 61_000);
      const forged = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => keys.byKid(`forged-${i}`)));
      expect(await forged(20)).toEqual(Array(20).fill(undefined));
      expect(reads).toHaveBeenCalledTimes(1);
      // Within a second of that read, unknown kids are refused without asking again.
      expect(await forged(20)).toEqual(Array(20).fill(undefined));
      expect(reads).toHaveBeenCalledTimes(1);
      // A second later they may ask again, once for the burst.
      clock.mockReturnValue(started + 62_500);
      expect(await forged(20)).toEqual(Array(20).fill(undefined));
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      clock.mockRestore();
      reads.mockRestore();
    }
  });

  it('adopts the key of a deployment from before generations, so its tokens stay valid', async () => {
    const a = await replica(1);
    const legacy = await a.keys.createKey('ES256', 'service-account', ACCESS_TOKEN_KEY_OWNER);
    const ensured = await a.tokenKeys[0]!.ensure();
    expect(ensured.keyId).toBe(legacy.id);
    expect(ensured.jwk.x).toBe(ecPublicJwk(legacy).x);
  });
});
