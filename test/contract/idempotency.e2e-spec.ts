import { randomUUID } from 'node:crypto';
import { IdempotencyRepository, type IdempotencyRecordEntity } from '../../src/persistence/index.js';
import { CALLERS, openContractDatabase, race, winners, type ContractDatabase } from './contract-database.js';

const MINUTE = 60_000;

/**
 * An Idempotency-Key is taken by one request at a time: of many concurrent requests with one key (spread
 * over several connections, as replicas) exactly one takes it, a key whose record expired or whose
 * request was lost is taken over by exactly one, and only the attempt that holds it completes or gives it
 * back. Against the repository alone, on each database.
 */
describe('taking an Idempotency-Key (repository contract)', () => {
  let database: ContractDatabase;
  const records = (caller: number) => new IdempotencyRepository(database.replicas[caller % database.replicas.length]!);

  beforeAll(async () => {
    database = await openContractDatabase('idempotency');
  });
  afterAll(async () => {
    await database?.close();
  });

  /** An attempt's record: its lock stamp (lockedUntil) identifies the attempt, as the service uses it. */
  const attempt = (key: string, now: number, caller: number, requestHash = 'a'.repeat(64)): IdempotencyRecordEntity => ({
    scope: 'agency:contract-test',
    key,
    requestHash,
    state: 'in_flight',
    statusCode: null,
    sealedResponse: null,
    lockedUntil: now + MINUTE + caller,
    expiresAt: now + 60 * MINUTE,
  });

  it('lets exactly one of many concurrent requests take a new key, and only its attempt complete it', async () => {
    const key = randomUUID();
    const now = Date.now();
    const results = await race(database.replicas, CALLERS, (_, caller) => records(caller).insert(attempt(key, now, caller)));
    expect(winners(results)).toBe(1);
    const winner = attempt(key, now, results.indexOf(true));
    const loser = attempt(key, now, results.indexOf(false));
    expect(await records(1).find(winner.scope, key)).toMatchObject({ state: 'in_flight', lockedUntil: winner.lockedUntil });

    expect(await records(2).complete(undefined, loser.scope, key, loser.lockedUntil, 201, 'sealed')).toBe(false);
    await records(2).abandon(loser.scope, key, loser.lockedUntil); // not its attempt: nothing happens
    expect(await records(0).complete(undefined, winner.scope, key, winner.lockedUntil, 201, 'sealed-response')).toBe(true);
    expect(await records(1).find(winner.scope, key)).toMatchObject({
      state: 'done',
      statusCode: 201,
      sealedResponse: 'sealed-response',
    });
    expect(await records(1).complete(undefined, winner.scope, key, winner.lockedUntil, 201, 'again')).toBe(false);
  });

  it('keeps keys of different callers apart', async () => {
    const key = randomUUID();
    const now = Date.now();
    expect(await records(0).insert(attempt(key, now, 0))).toBe(true);
    expect(await records(1).insert({ ...attempt(key, now, 1), scope: 'agency:another' })).toBe(true);
  });

  it('refuses to take over a key that is in flight and not yet expired', async () => {
    const key = randomUUID();
    const now = Date.now();
    expect(await records(0).insert(attempt(key, now, 0))).toBe(true);
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      records(caller).takeOver(attempt(key, now, caller + 1), now),
    );
    expect(winners(results)).toBe(0);
  });

  it('lets exactly one request take over a key whose request was lost, and the lost one can no longer complete', async () => {
    const key = randomUUID();
    const start = Date.now();
    const lost = attempt(key, start, 0);
    expect(await records(0).insert(lost)).toBe(true);
    const later = lost.lockedUntil + 1;
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      records(caller).takeOver(attempt(key, later, caller), later),
    );
    expect(winners(results)).toBe(1);
    expect(await records(1).complete(undefined, lost.scope, key, lost.lockedUntil, 201, 'late')).toBe(false);
    const current = attempt(key, later, results.indexOf(true));
    expect(await records(2).complete(undefined, current.scope, key, current.lockedUntil, 201, 'sealed')).toBe(true);
  });

  it('lets exactly one request take over an expired record, even a completed one', async () => {
    const key = randomUUID();
    const start = Date.now();
    const first = attempt(key, start, 0);
    expect(await records(0).insert(first)).toBe(true);
    expect(await records(0).complete(undefined, first.scope, key, first.lockedUntil, 201, 'sealed')).toBe(true);
    const later = first.expiresAt + 1;
    const results = await race(database.replicas, CALLERS, (_, caller) =>
      records(caller).takeOver(attempt(key, later, caller, 'b'.repeat(64)), later),
    );
    expect(winners(results)).toBe(1);
    expect(await records(1).find(first.scope, key)).toMatchObject({
      state: 'in_flight',
      requestHash: 'b'.repeat(64),
      sealedResponse: null,
    });
  });

  it('gives a failed request its key back, and purges expired records only', async () => {
    const failed = randomUUID();
    const now = Date.now();
    const failedAttempt = attempt(failed, now, 0);
    expect(await records(0).insert(failedAttempt)).toBe(true);
    await records(1).abandon(failedAttempt.scope, failed, failedAttempt.lockedUntil);
    expect(await records(2).find(failedAttempt.scope, failed)).toBeNull();
    expect(await records(2).insert(attempt(failed, now, 1))).toBe(true);

    const expired = randomUUID();
    expect(await records(0).insert({ ...attempt(expired, now, 0), expiresAt: now - 1 })).toBe(true);
    await records(1).purgeExpired(now);
    expect(await records(2).find(failedAttempt.scope, expired)).toBeNull();
    expect(await records(2).find(failedAttempt.scope, failed)).not.toBeNull();
  });
});
