import { addressProblem, isPublicAddress, publicOnlyLookup } from './public-address.js';

const strict = { allowLoopback: false };
const tests = { allowLoopback: true };

describe('addressProblem (webhooks, did:web hosts)', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    // IPv4-compatible (deprecated) and local-use NAT64 forms (found by an attack probe)
    '::127.0.0.1',
    '::a9fe:a9fe',
    '64:ff9b:1::a9fe:a9fe',
  ])('refuses %s', (address) => {
    expect(addressProblem(address, strict)).toBeDefined();
  });

  it('accepts public addresses; loopback only with WEBHOOK_ALLOW_PRIVATE, never other private ranges', () => {
    expect(addressProblem('93.184.216.34', strict)).toBeUndefined();
    expect(addressProblem('2606:2800:220:1:248:1893:25c8:1946', strict)).toBeUndefined();
    expect(addressProblem('127.0.0.1', tests)).toBeUndefined();
    expect(addressProblem('::1', tests)).toBeUndefined();
    expect(addressProblem('10.0.0.1', tests)).toBeDefined();
    expect(addressProblem('169.254.169.254', tests)).toBeDefined();
  });
});

describe('isPublicAddress', () => {
  it('is addressProblem without loopback, and false for what is not an address', () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', 'localhost', 'not-an-address'])
      expect(isPublicAddress(address)).toBe(false);
    for (const address of ['8.8.8.8', '::ffff:8.8.8.8', '2606:4700:4700::1111']) expect(isPublicAddress(address)).toBe(true);
  });
});

describe('publicOnlyLookup', () => {
  const lookup = (host: string, all = false) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      publicOnlyLookup(host, { all }, (error, address) => resolve({ error, address })),
    );

  it('refuses a name that resolves to this host, whatever form the caller asks for', async () => {
    for (const all of [false, true]) {
      const { error } = await lookup('localhost', all);
      expect(error?.code).toBe('ENOTPUBLIC');
    }
  });

  it('passes a resolver error through', async () => {
    const { error } = await lookup('no-such-host.invalid');
    expect(error?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
