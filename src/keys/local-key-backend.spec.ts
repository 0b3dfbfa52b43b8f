import { randomBytes, verify, createHash, createPublicKey } from 'node:crypto';
import { compactVerify } from 'jose';
import { SigningKey, recoverAddress, computeAddress, hexlify, Signature } from 'ethers';
import { LocalKeyBackend, lowS, p256PublicKeyObject } from './local-key-backend.js';

describe.each([
  ['on its signing thread', 'always'],
  ['inline', false],
] as const)('LocalKeyBackend, ES256 %s', (_, signingThread) => {
  const backend = new LocalKeyBackend(randomBytes(32), { signingThread });
  afterAll(() => backend.close());

  it('signs ES256 so that node:crypto verifies with the public key', async () => {
    const key = await backend.generate('ES256');
    const data = Buffer.from('header.payload');
    const { signature } = await backend.sign('ES256', key.secretRef, data, false);
    expect(signature).toHaveLength(64);
    const ok = verify('sha256', data, { key: p256PublicKeyObject(key.publicKey), dsaEncoding: 'ieee-p1363' }, signature);
    expect(ok).toBe(true);
  });

  it('signs ES256 in low-S form only, and lowS maps a high-S twin back to the canonical signature', async () => {
    const key = await backend.generate('ES256');
    const half = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n / 2n;
    for (let i = 0; i < 40; i++) {
      const { signature } = await backend.sign('ES256', key.secretRef, Buffer.from(`m${i}`), false);
      expect(BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`) <= half).toBe(true);
    }
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const low = Buffer.concat([Buffer.alloc(32, 7), Buffer.from(5n.toString(16).padStart(64, '0'), 'hex')]);
    const high = Buffer.concat([Buffer.alloc(32, 7), Buffer.from((n - 5n).toString(16).padStart(64, '0'), 'hex')]);
    expect(lowS(high).equals(low)).toBe(true);
    expect(lowS(low)).toBe(low);
  });

  it('signs secp256k1 digests recoverable to the key address', async () => {
    const key = await backend.generate('ES256K');
    const digest = createHash('sha256').update('tx').digest();
    const { signature, recovery } = await backend.sign('ES256K', key.secretRef, digest, true);
    const sig = Signature.from({ r: hexlify(signature.subarray(0, 32)), s: hexlify(signature.subarray(32)), yParity: recovery! });
    expect(recoverAddress(digest, sig)).toBe(computeAddress(hexlify(key.publicKey)));
    expect(SigningKey.computePublicKey(hexlify(key.publicKey), false)).toBe(hexlify(key.publicKey));
  });

  it('never stores the private key in the clear', async () => {
    const key = await backend.generate('ES256K');
    expect(key.secretRef).not.toMatch(/-----BEGIN/);
    expect(key.secretRef.split('.')).toHaveLength(7);
  });

  it('refuses a ciphertext under another master key or moved to another public key', async () => {
    const key = await backend.generate('ES256');
    const other = new LocalKeyBackend(randomBytes(32), { signingThread });
    await expect(other.sign('ES256', key.secretRef, Buffer.from('x'), false)).rejects.toThrow(/different KMS master key/);
    await other.close();

    const victim = await backend.generate('ES256');
    const parts = key.secretRef.split('.');
    const forged = [...parts.slice(0, 3), victim.secretRef.split('.')[3], ...parts.slice(4)].join('.');
    await expect(backend.sign('ES256', forged, Buffer.from('x'), false)).rejects.toThrow();
  });
});

describe('LocalKeyBackend, RS256 (OpenID Connect ID tokens)', () => {
  const backend = new LocalKeyBackend(randomBytes(32), { signingThread: false });
  afterAll(() => backend.close());

  it('signs RS256 (RSASSA-PKCS1-v1_5, SHA-256, 2048 bits) so that jose verifies a JWS with the public key', async () => {
    const key = await backend.generate('RS256');
    const publicKey = createPublicKey({ key: Buffer.from(key.publicKey), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyType).toBe('rsa');
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x' })).toString('base64url');
    const { signature } = await backend.sign('RS256', key.secretRef, Buffer.from(`${header}.${payload}`), false);
    const jws = `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`;
    const verified = await compactVerify(jws, publicKey, { algorithms: ['RS256'] });
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual({ sub: 'x' });
  });

  it('signs with the algorithm the key was made for only, and never a digest', async () => {
    const key = await backend.generate('RS256');
    await expect(backend.sign('ES256', key.secretRef, Buffer.from('x'), false)).rejects.toThrow(/algorithm mismatch/);
    await expect(backend.sign('RS256', key.secretRef, Buffer.alloc(32), true)).rejects.toThrow(/Prehashed RS256/);
    const ec = await backend.generate('ES256');
    await expect(backend.sign('RS256', ec.secretRef, Buffer.from('x'), false)).rejects.toThrow(/algorithm mismatch/);
  });
});
