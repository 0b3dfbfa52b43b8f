import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  hkdfSync,
  createHash,
  randomBytes,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { SigningKey, getBytes, hexlify } from 'ethers';
import type { GeneratedKey, KeyAlgorithm, KeyBackend, RawSignature } from './key-backend.js';
import { isHighS, P256_N } from '../common/p256.js';
import { SigningThread } from './signing-thread.js';
import { EventLoopLoad } from '../common/event-loop-load.js';

/**
 * When ES256 signatures leave the event loop (ADR 36): from a 50 ms window at least 95 % busy until one
 * below 75 %. Handing them over makes the loop less busy, so without the lower bar to leave by, the answer
 * flipped from one window to the next and only ~40–70 % of a peak's signatures were handed over.
 */
export const signingLoad = new EventLoopLoad(50, 0.95, undefined, 0.75);

const VERSION = 'v1';
/** RSA keys exist for OpenID Connect's RS256 only; 2048 bits is what RFC 7518 §3.3 asks as a minimum. */
const RSA_MODULUS_BITS = 2048;
const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * Software keys encrypted at rest with AES-256-GCM under a key derived (HKDF-SHA256) from the master key.
 * The additional authenticated data binds each ciphertext to its algorithm and public key, so a
 * ciphertext copied onto another key row fails to decrypt instead of signing as the wrong key.
 */
export class LocalKeyBackend implements KeyBackend {
  readonly name = 'local';
  private readonly dataKey: Buffer;
  /** A separate key for application data, so key wrapping and data encryption never share a key. */
  private readonly appDataKey: Buffer;
  private readonly masterKeyId: string;
  private readonly cache = new Map<string, KeyObject | SigningKey>();
  /** Where ES256 signatures are computed while the event loop is saturated (ADR 36). */
  private readonly thread: SigningThread | undefined;
  private readonly handOver: () => boolean;
  /** ES256 signatures computed on the signing thread and inline, for the tests and the bench. */
  readonly signatures = { onThread: 0, inline: 0 };

  /**
   * @param options.signingThread `when-busy` (the default): ES256 signatures go to a thread of their own
   *   while the event loop is saturated; `always` (tests); `false`: always inline.
   */
  constructor(masterKey: Buffer, options: { signingThread?: 'when-busy' | 'always' | false } = {}) {
    if (masterKey.length !== 32) throw new Error('The KMS master key must be 32 bytes');
    const mode = options.signingThread ?? 'when-busy';
    this.thread = mode === false ? undefined : new SigningThread();
    this.handOver = mode === 'always' ? () => true : () => signingLoad.isSaturated();
    this.dataKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'chancery local kms v1', 32));
    this.masterKeyId = createHash('sha256').update(this.dataKey).digest('hex').slice(0, 8);
    this.appDataKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'chancery app data v1', 32));
  }

  async encryptData(plaintext: Uint8Array, context: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.appDataKey, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [
      'd1',
      this.masterKeyId,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  async decryptData(sealed: string, context: string): Promise<Uint8Array> {
    const [version, masterKeyId, iv, ciphertext, tag] = sealed.split('.');
    if (version !== 'd1' || !tag) throw new Error('Unrecognised sealed data format');
    if (masterKeyId !== this.masterKeyId) throw new Error('This data was encrypted under a different KMS master key');
    const decipher = createDecipheriv('aes-256-gcm', this.appDataKey, Buffer.from(iv!, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]);
  }

  async generate(algorithm: KeyAlgorithm): Promise<GeneratedKey> {
    if (algorithm === 'RS256') {
      // Off the event loop: an RSA key takes tens to hundreds of milliseconds to find.
      const { privateKey, publicKey } = await generateRsaKeyPair('rsa', { modulusLength: RSA_MODULUS_BITS });
      const publicDer = publicKey.export({ format: 'der', type: 'spki' });
      const plaintext = privateKey.export({ format: 'der', type: 'pkcs8' });
      return { publicKey: publicDer, secretRef: this.seal(plaintext, algorithm, binding(algorithm, publicDer)) };
    }
    if (algorithm === 'ES256') {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicRaw = p256PublicKeyRaw(publicKey);
      const plaintext = privateKey.export({ format: 'der', type: 'pkcs8' });
      return { publicKey: publicRaw, secretRef: this.seal(plaintext, algorithm, binding(algorithm, publicRaw)) };
    }
    const signingKey = new SigningKey(randomBytes(32));
    const publicRaw = getBytes(signingKey.publicKey);
    return {
      publicKey: publicRaw,
      secretRef: this.seal(Buffer.from(getBytes(signingKey.privateKey)), algorithm, binding(algorithm, publicRaw)),
    };
  }

  async sign(algorithm: KeyAlgorithm, secretRef: string, data: Uint8Array, prehashed: boolean): Promise<RawSignature> {
    const key = this.unseal(algorithm, secretRef);
    if (key instanceof SigningKey) {
      const digest = prehashed ? data : createHash('sha256').update(data).digest();
      const signature = key.sign(digest);
      return {
        signature: Buffer.concat([getBytes(signature.r), getBytes(signature.s)]),
        recovery: signature.yParity,
      };
    }
    if (prehashed) throw new Error(`Prehashed ${algorithm} signing is not supported by the local backend`);
    // RSASSA-PKCS1-v1_5 with SHA-256 (the key's default padding); only ID tokens use RSA, so it stays inline.
    if (algorithm === 'RS256') return { signature: nodeSign('sha256', data, key) };
    if (this.thread && this.handOver()) {
      this.signatures.onThread++;
      return { signature: lowS(await this.thread.sign(key, data)) };
    }
    this.signatures.inline++;
    return { signature: lowS(nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })) };
  }

  async close(): Promise<void> {
    await this.thread?.close();
  }

  private seal(plaintext: Buffer, algorithm: KeyAlgorithm, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.dataKey, iv);
    cipher.setAAD(Buffer.from(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    const parts = [VERSION, this.masterKeyId, algorithm, aad, iv, ciphertext, cipher.getAuthTag()];
    return parts
      .map((part) => (typeof part === 'string' ? Buffer.from(part).toString('base64url') : part.toString('base64url')))
      .join('.');
  }

  private unseal(algorithm: KeyAlgorithm, secretRef: string): KeyObject | SigningKey {
    const cached = this.cache.get(secretRef);
    if (cached) return cached;
    const [version, masterKeyId, storedAlgorithm, aad, iv, ciphertext, tag] = secretRef
      .split('.')
      .map((part) => Buffer.from(part, 'base64url'));
    if (version?.toString() !== VERSION || !tag) throw new Error('Unrecognised key secret format');
    if (masterKeyId!.toString() !== this.masterKeyId) {
      throw new Error('This key was encrypted under a different KMS master key');
    }
    if (storedAlgorithm!.toString() !== algorithm) throw new Error('Key algorithm mismatch');
    const decipher = createDecipheriv('aes-256-gcm', this.dataKey, iv!);
    decipher.setAAD(aad!);
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(ciphertext!), decipher.final()]);
    const key =
      algorithm !== 'ES256K'
        ? createPrivateKey({ key: plaintext, format: 'der', type: 'pkcs8' })
        : new SigningKey(hexlify(plaintext));
    plaintext.fill(0);
    this.cache.set(secretRef, key);
    return key;
  }
}

const binding = (algorithm: KeyAlgorithm, publicKey: Uint8Array) =>
  `chancery-key:${algorithm}:${Buffer.from(publicKey).toString('hex')}`;

export function p256PublicKeyRaw(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export function p256PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(raw.subarray(1, 33)).toString('base64url'),
      y: Buffer.from(raw.subarray(33, 65)).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Canonical low-S form (s ≤ n/2) of an ES256 signature, so no verifier sees a malleable twin of ours. */
export function lowS(signature: Buffer): Buffer {
  // Compared as bytes first: half of all signatures need no arithmetic at all.
  if (!isHighS(signature)) return signature;
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  return Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
}
