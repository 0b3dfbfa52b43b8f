import { createHmac, randomBytes } from 'node:crypto';
import { accountIdFor, pairwiseSubject, type Mac } from './subject.js';

const macUnder =
  (secret: Buffer): Mac =>
  async (message) =>
    createHmac('sha256', secret).update(message).digest();

describe('pseudonymous subjects', () => {
  const mac = macUnder(randomBytes(32));

  it('gives one account per citizen and namespace, stable across calls, unrelated to the ID number', async () => {
    const account = await accountIdFor(mac, 'cn-citizen-id', '11010519880314002X');
    expect(account).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await accountIdFor(mac, 'cn-citizen-id', '11010519880314002X')).toBe(account);
    expect(await accountIdFor(mac, 'cn-citizen-id', '110105199001010011')).not.toBe(account);
    expect(await accountIdFor(mac, 'uscc', '11010519880314002X')).not.toBe(account);
    // Another deployment (another secret) cannot recompute it.
    expect(await accountIdFor(macUnder(randomBytes(32)), 'cn-citizen-id', '11010519880314002X')).not.toBe(account);
  });

  it('gives each sector its own sub for the same account, and the same sub at every login', async () => {
    const account = await accountIdFor(mac, 'cn-citizen-id', '11010519880314002X');
    const atA = await pairwiseSubject(mac, 'portal-a.example', account);
    expect(atA).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await pairwiseSubject(mac, 'portal-a.example', account)).toBe(atA);
    expect(await pairwiseSubject(mac, 'PORTAL-A.example', account)).toBe(atA);
    expect(await pairwiseSubject(mac, 'portal-b.example', account)).not.toBe(atA);
    expect(await pairwiseSubject(mac, 'portal-a.example:8443', account)).not.toBe(atA);
    expect(atA).not.toBe(account);
  });

  it('keeps the fields apart (no ambiguity from concatenation) and refuses empty input', async () => {
    expect(await pairwiseSubject(mac, 'a.example|x', 'y')).not.toBe(await pairwiseSubject(mac, 'a.example', 'x|y'));
    await expect(accountIdFor(mac, 'cn-citizen-id', '')).rejects.toThrow();
    await expect(pairwiseSubject(mac, '', 'account')).rejects.toThrow();
  });
});
