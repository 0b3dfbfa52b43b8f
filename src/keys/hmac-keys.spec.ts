import { createHmac, randomBytes } from 'node:crypto';
import { LocalKeyBackend } from './local-key-backend.js';
import { HmacKeys } from './hmac-keys.js';
import type { HmacKeyRepository } from './hmac-key.repository.js';
import type { HmacKeyEntity } from './hmac-key.entity.js';

/** The repository's contract in memory: the first insert of a name wins. */
function memoryRepository() {
  const rows = new Map<string, HmacKeyEntity>();
  const repository = {
    async byName(name: string) {
      return rows.get(name) ?? null;
    },
    async insertIfAbsent(row: HmacKeyEntity) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!rows.has(row.name)) rows.set(row.name, row);
      return rows.get(row.name)!;
    },
  };
  return { rows, repository: repository as unknown as HmacKeyRepository };
}

describe('HMAC keys', () => {
  const backend = new LocalKeyBackend(randomBytes(32));

  it('creates a named secret once, sealed, and every instance sharing the store MACs alike', async () => {
    const store = memoryRepository();
    const replicas = [new HmacKeys(store.repository, backend), new HmacKeys(store.repository, backend)];
    const macs = await Promise.all(replicas.map((keys) => keys.hmacSha256('citizen-login-subject', 'message')));
    expect(store.rows.size).toBe(1);
    expect(macs[0]).toHaveLength(32);
    expect(macs[1]!.equals(macs[0]!)).toBe(true);
    // The stored value is sealed: not the secret, and useless without the master key.
    const sealed = store.rows.get('citizen-login-subject')!.sealed;
    const secret = Buffer.from(await backend.decryptData(sealed, 'hmac-key:citizen-login-subject'));
    expect(sealed).not.toContain(secret.toString('base64url'));
    expect(createHmac('sha256', secret).update('message').digest().equals(macs[0]!)).toBe(true);
    await expect(new LocalKeyBackend(randomBytes(32)).decryptData(sealed, 'hmac-key:citizen-login-subject')).rejects.toThrow();
  });

  it('keeps names apart and refuses malformed names', async () => {
    const keys = new HmacKeys(memoryRepository().repository, backend);
    const [a, b] = await Promise.all([keys.hmacSha256('one', 'm'), keys.hmacSha256('two', 'm')]);
    expect(a.equals(b)).toBe(false);
    await expect(keys.hmacSha256('../etc', 'm')).rejects.toThrow(/Invalid HMAC key name/);
  });
});
