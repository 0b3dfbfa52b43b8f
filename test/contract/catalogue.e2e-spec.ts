import { join } from 'node:path';
import { projectRoot } from '../../src/common/index.js';
import {
  CatalogueConflict,
  CatalogueRepository,
  readSeedDefinitions,
  type LicenceTypeDefinition,
} from '../../src/credentials/index.js';
import { CALLERS, openContractDatabase, race, winners, type ContractDatabase } from './contract-database.js';

/**
 * The run-time catalogue's storage, raced over several connections as replicas would: replicas seeding
 * together insert each type once; of concurrent creators of one type, or publishers from one version, or
 * retirers, exactly one wins. On SQLite (one process, one connection with its write queue: replicas need
 * PostgreSQL) the callers share one connection; multi-statement transactions from several connections in one
 * process would block each other in better-sqlite3's synchronous busy wait.
 */
describe('credential catalogue (repository contract)', () => {
  let database: ContractDatabase;
  const replicas = () => (database.kind === 'sqlite' ? [database.db] : database.replicas);
  const repository = (caller: number) => new CatalogueRepository(replicas()[caller % replicas().length]!);
  const seed = readSeedDefinitions(join(projectRoot(), 'catalogue'));
  const definition = (id: string, vcType: string): LicenceTypeDefinition => ({ ...seed[0]!, id, vcType });
  const succeeded = (attempt: Promise<unknown>) =>
    attempt.then(
      () => true,
      (error: unknown) => {
        if (error instanceof CatalogueConflict) return false;
        throw error;
      },
    );

  beforeAll(async () => {
    database = await openContractDatabase('catalogue');
  });
  afterAll(async () => {
    await database?.close();
  });

  it('seeds each shipped type once when replicas start together, and never undoes a later change', async () => {
    await race(replicas(), CALLERS, (_, caller) => repository(caller).seed(seed));
    const loaded = await repository(0).load();
    expect(loaded.map((entry) => entry.definition.id)).toEqual(seed.map((type) => type.id).sort());
    expect(loaded.every((entry) => entry.version === 1 && entry.status === 'active')).toBe(true);
    expect(await repository(1).versions(seed[0]!.id)).toHaveLength(1);

    expect(await repository(0).retire(seed[0]!.id)).toBe(true);
    await repository(2).seed(seed);
    expect((await repository(1).type(seed[0]!.id))!.status).toBe('retired');
  });

  it('lets exactly one of many concurrent creators of a type win', async () => {
    const results = await race(replicas(), CALLERS, (_, caller) =>
      succeeded(repository(caller).create(definition('contract-type', 'ContractTypeCredential'), 'operator')),
    );
    expect(winners(results)).toBe(1);
    // The W3C type is unique too.
    await expect(repository(0).create(definition('contract-type-2', 'ContractTypeCredential'), 'operator')).rejects.toThrow(
      CatalogueConflict,
    );
  });

  it('lets exactly one of many publishers from the same version win, and keeps every version', async () => {
    const next = { ...definition('contract-type', 'ContractTypeCredential'), validityDays: 30 };
    const results = await race(replicas(), CALLERS, (_, caller) =>
      succeeded(repository(caller).publishVersion(next, 1, 'operator')),
    );
    expect(winners(results)).toBe(1);
    expect((await repository(0).type('contract-type'))!.currentVersion).toBe(2);
    const versions = await repository(1).versions('contract-type');
    expect(versions.map((version) => version.version)).toEqual([1, 2]);
    expect(versions[1]!.definition.validityDays).toBe(30);
    expect(versions[0]!.schemaDigest).not.toBe(versions[1]!.schemaDigest);
    expect((await repository(2).load()).find((entry) => entry.definition.id === 'contract-type')).toMatchObject({
      version: 2,
      definition: { validityDays: 30 },
    });
    await expect(repository(0).publishVersion(next, 1, 'operator')).rejects.toThrow(CatalogueConflict);
  });

  it('lets exactly one of many concurrent retirements change the type, and changes the fingerprint', async () => {
    const before = await repository(0).fingerprint();
    const results = await race(replicas(), CALLERS, (_, caller) => repository(caller).retire('contract-type'));
    expect(winners(results)).toBe(1);
    const after = await repository(1).fingerprint();
    expect(after).not.toBe(before);
    expect(after).toContain('contract-type@2:retired');
  });
});
