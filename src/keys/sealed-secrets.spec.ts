import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import { LocalKeyBackend } from './local-key-backend.js';
import { SealedSecrets } from './sealed-secrets.js';

const ALLOWED = { keyManagementAlgorithms: ['ECDH-ES' as const], contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'] };

/** What a wallet does: encrypt to the public JWK from client_metadata (jose, not our code). */
async function encryptTo(publicJwk: object & { kid?: string }, text: string, enc = 'A128GCM', alg = 'ECDH-ES') {
  return new CompactEncrypt(new TextEncoder().encode(text))
    .setProtectedHeader({ alg, enc, kid: publicJwk.kid })
    .encrypt(await importJWK(publicJwk as never, alg));
}

describe('SealedSecrets', () => {
  const backend = new LocalKeyBackend(randomBytes(32));
  const secrets = new SealedSecrets(backend);

  describe('ephemeral ECDH-ES agreement keys', () => {
    it('hands out only the public half and an opaque sealed handle', async () => {
      const { publicJwk, sealed } = await secrets.createEphemeralAgreementKey('presentation:r1', 'r1');
      expect(Object.keys(publicJwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(publicJwk).toEqual(expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: 'r1', use: 'enc', alg: 'ECDH-ES' }));
      // The handle is the private JWK sealed by the backend under the context: nothing readable without it.
      expect(sealed.startsWith('d1.')).toBe(true);
      const opened = JSON.parse(Buffer.from(await backend.decryptData(sealed, 'presentation:r1')).toString('utf8'));
      expect(opened).toEqual(expect.objectContaining({ x: publicJwk.x, y: publicJwk.y, d: expect.any(String) }));
      await expect(backend.decryptData(sealed, 'presentation:r2')).rejects.toThrow();
    });

    it('decrypts a JWE that jose encrypted to the public key, with A128GCM and A256GCM', async () => {
      const { publicJwk, sealed } = await secrets.createEphemeralAgreementKey('presentation:r2', 'r2');
      for (const enc of ['A128GCM', 'A256GCM']) {
        const jwe = await encryptTo(publicJwk, `{"vp_token":"${enc}"}`, enc);
        const opened = await secrets.decryptJwe(sealed, jwe, 'presentation:r2', ALLOWED);
        expect(new TextDecoder().decode(opened.plaintext)).toBe(`{"vp_token":"${enc}"}`);
        expect(opened.protectedHeader).toEqual(expect.objectContaining({ alg: 'ECDH-ES', enc, kid: 'r2' }));
        expect(opened.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y, kid: 'r2' });
      }
    });

    it('refuses another context, an algorithm outside the allowed list, and a JWE made for another key', async () => {
      const { publicJwk, sealed } = await secrets.createEphemeralAgreementKey('presentation:r3', 'r3');
      const jwe = await encryptTo(publicJwk, 'hello');
      await expect(secrets.decryptJwe(sealed, jwe, 'presentation:other', ALLOWED)).rejects.toThrow();

      const cbc = await encryptTo(publicJwk, 'hello', 'A256CBC-HS512');
      await expect(secrets.decryptJwe(sealed, cbc, 'presentation:r3', ALLOWED)).rejects.toMatchObject({
        code: 'ERR_JOSE_ALG_NOT_ALLOWED',
      });
      const wrapped = await encryptTo(publicJwk, 'hello', 'A128GCM', 'ECDH-ES+A128KW');
      await expect(secrets.decryptJwe(sealed, wrapped, 'presentation:r3', ALLOWED)).rejects.toMatchObject({
        code: 'ERR_JOSE_ALG_NOT_ALLOWED',
      });

      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
      const forStranger = await encryptTo({ ...stranger, kid: 'r3' }, 'hello');
      await expect(secrets.decryptJwe(sealed, forStranger, 'presentation:r3', ALLOWED)).rejects.toMatchObject({
        code: 'ERR_JWE_DECRYPTION_FAILED',
      });
    });

    it('refuses a handle sealed under another master key', async () => {
      const { publicJwk, sealed } = await secrets.createEphemeralAgreementKey('presentation:r4', 'r4');
      const elsewhere = new SealedSecrets(new LocalKeyBackend(randomBytes(32)));
      await expect(elsewhere.decryptJwe(sealed, await encryptTo(publicJwk, 'x'), 'presentation:r4', ALLOWED)).rejects.toThrow();
    });
  });

  describe('HMAC secrets', () => {
    it('returns the secret once and MACs with the sealed copy exactly as the receiver recomputes it', async () => {
      const { secret, sealed } = await secrets.createHmacSecret('webhook:p1');
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      expect(sealed).not.toContain(secret);
      const data = '1760000000.{"id":"r1","status":"verified"}';
      const mac = await secrets.hmacSha256(sealed, 'webhook:p1', data);
      expect(mac).toBe(createHmac('sha256', secret).update(data).digest('hex'));
      expect(await secrets.hmacSha256(sealed, 'webhook:p1', `${data} `)).not.toBe(mac);
    });

    it('opens secrets that KeyService.sealJson wrote (rows from before this service)', async () => {
      const legacy = await backend.encryptData(Buffer.from(JSON.stringify('an-old-secret')), 'webhook:p2');
      expect(await secrets.hmacSha256(legacy, 'webhook:p2', 'data')).toBe(
        createHmac('sha256', 'an-old-secret').update('data').digest('hex'),
      );
      await expect(secrets.hmacSha256(legacy, 'webhook:p3', 'data')).rejects.toThrow();
    });
  });
});
