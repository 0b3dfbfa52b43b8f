import type { AppConfig } from '../config/index.js';
import type { HmacKeys, KeyService } from '../keys/index.js';
import type { Database, IdempotencyRepository } from '../persistence/index.js';
import { IdempotencyService } from './idempotency.js';

describe('IdempotencyService replay', () => {
  it('replays a stored answer only once everything committed so far is durable', async () => {
    const now = Date.now();
    const stored = {
      scope: 'agency:a POST /credentials/issue',
      key: 'k',
      requestHash: 'h',
      state: 'done',
      statusCode: 201,
      sealedResponse: 'sealed',
      lockedUntil: now,
      expiresAt: now + 60_000,
    };
    const repository = { insert: async () => false, find: async () => stored } as unknown as IdempotencyRepository;
    const keys = { openJson: async () => ({ credentialId: 'c' }) } as unknown as KeyService;
    let durable!: () => void;
    const db = { durable: () => new Promise<void>((resolve) => (durable = resolve)) } as unknown as Database;
    const config = { idempotency: { inFlightSeconds: 30, ttlSeconds: 3600 } } as unknown as AppConfig;
    const service = new IdempotencyService(repository, keys, {} as HmacKeys, db, config);

    let answered: unknown;
    const begun = service.begin(stored.scope, stored.key, stored.requestHash).then((result) => (answered = result));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // The record may belong to a group commit whose flush is still running: nothing is handed out yet.
    expect(answered).toBeUndefined();
    durable();
    await begun;
    expect(answered).toEqual({ replay: { statusCode: 201, body: { credentialId: 'c' } } });
  });
});
