import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createPublicKey, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { computeAddress, hexlify } from 'ethers';
import { LRUCache } from 'lru-cache';
import type { Tx } from '../persistence/index.js';
import type { KeyEntity } from './key.entity.js';
import { KeyRepository } from './key.repository.js';
import type { KeyAlgorithm, KeyBackend } from './key-backend.js';
import { selfSignedCertificate } from './x509.js';
import { p256PublicKeyObject, p256PublicKeyRaw } from './local-key-backend.js';

export const KEY_BACKEND = Symbol('KEY_BACKEND');

export type KeyPurpose = 'credential-signing' | 'did-controller' | 'service-account';

export interface PublicKeyInfo {
  id: string;
  algorithm: KeyAlgorithm;
  purpose: KeyPurpose;
  ownerRef: string | null;
  /** EC keys: uncompressed SEC1; RSA keys: SubjectPublicKeyInfo (DER); hex without 0x. */
  publicKeyHex: string;
  publicJwk: EcPublicJwk | RsaPublicJwk;
  /** Ethereum address for secp256k1 keys. */
  address: string | null;
}

export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256' | 'secp256k1';
  x: string;
  y: string;
}

export interface RsaPublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
}

export interface EthereumSignature {
  r: string;
  s: string;
  yParity: 0 | 1;
}

/** Most key rows kept in memory (agencies' signing and controller keys, token keys). */
const KEY_CACHE_MAX_ENTRIES = 10_000;

/** The only place that signs. Callers hold key ids; private keys stay inside the backend. */
@Injectable()
export class KeyService implements OnApplicationShutdown {
  /**
   * Key rows by id. A row never changes once stored (rotation creates a new key, KeyRepository), so a
   * committed row read once is kept: signing costs no database read. Rows read inside a caller's
   * transaction are not cached (it may still roll back).
   */
  private readonly rows = new LRUCache<string, KeyEntity>({ max: KEY_CACHE_MAX_ENTRIES });

  constructor(
    private readonly repository: KeyRepository,
    @Inject(KEY_BACKEND) private readonly backend: KeyBackend,
  ) {}

  /** Last of the stop: every other module's shutdown work may still sign. */
  async onApplicationShutdown(): Promise<void> {
    await this.backend.close?.();
  }

  async createKey(algorithm: KeyAlgorithm, purpose: KeyPurpose, ownerRef: string | null, tx?: Tx) {
    const generated = await this.backend.generate(algorithm);
    const publicKeyHex = Buffer.from(generated.publicKey).toString('hex');
    const entity: KeyEntity = {
      id: randomUUID(),
      algorithm,
      purpose,
      ownerRef,
      publicKeyHex,
      address: algorithm === 'ES256K' ? computeAddress('0x' + publicKeyHex) : null,
      backend: this.backend.name,
      secretRef: generated.secretRef,
      createdAt: new Date(),
    };
    await this.repository.insert(entity, tx);
    return toPublicInfo(entity);
  }

  async getKey(id: string, tx?: Tx): Promise<PublicKeyInfo> {
    return toPublicInfo(await this.load(id, tx));
  }

  async findByOwner(ownerRef: string, purpose: KeyPurpose, tx?: Tx): Promise<PublicKeyInfo | null> {
    const key = await this.repository.newestOfOwner(ownerRef, purpose, tx);
    return key ? toPublicInfo(key) : null;
  }

  /** The P-256 key of this service with this public JWK and purpose, or null (also for a JWK of no P-256 key). */
  async findByPublicJwk(jwk: JsonWebKey, purpose: KeyPurpose): Promise<PublicKeyInfo | null> {
    let publicKeyHex: string;
    try {
      const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
      if (publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
      publicKeyHex = Buffer.from(p256PublicKeyRaw(publicKey)).toString('hex');
    } catch {
      return null;
    }
    const key = await this.repository.byPublicKey(publicKeyHex, purpose);
    return key ? toPublicInfo(key) : null;
  }

  /** The public key as a KeyObject (for libraries that take one, e.g. the OpenID Provider's JWKS). */
  async publicKeyObject(id: string): Promise<KeyObject> {
    const key = await this.load(id);
    const raw = Buffer.from(key.publicKeyHex, 'hex');
    if (key.algorithm === 'RS256') return createPublicKey({ key: raw, format: 'der', type: 'spki' });
    if (key.algorithm === 'ES256') return p256PublicKeyObject(raw);
    throw new Error(`Key ${id} is a ${key.algorithm} key`);
  }

  /** A JWS signature over the signing input, as the key's algorithm writes it (ES256: raw r||s). */
  async signJws(id: string, signingInput: Uint8Array): Promise<Uint8Array> {
    const key = await this.load(id);
    return (await this.backend.sign(key.algorithm as KeyAlgorithm, key.secretRef, signingInput, false)).signature;
  }

  /** Encrypts JSON for storage (AES-256-GCM under the master key), bound to `context` (e.g. the row id). */
  async sealJson(value: unknown, context: string): Promise<string> {
    return this.backend.encryptData(Buffer.from(JSON.stringify(value)), context);
  }

  async openJson<T>(sealed: string, context: string): Promise<T> {
    return JSON.parse(Buffer.from(await this.backend.decryptData(sealed, context)).toString('utf8')) as T;
  }

  /** A self-signed X.509 certificate (DER) for an ES256 key, naming `dnsNames` as subjectAltName. */
  async selfSignedCertificate(
    id: string,
    subject: { commonName: string; dnsNames: string[]; validityDays: number },
  ): Promise<Buffer> {
    const key = await this.load(id);
    if (key.algorithm !== 'ES256') throw new Error(`Key ${id} is not a P-256 key`);
    const spki = p256PublicKeyObject(Buffer.from(key.publicKeyHex, 'hex')).export({ type: 'spki', format: 'der' });
    return selfSignedCertificate({ ...subject, spki }, (tbs) => this.signJws(id, tbs));
  }

  /** An Ethereum signature over a 32-byte digest (transactions); secp256k1 keys only. */
  async signDigest(id: string, digest: Uint8Array): Promise<EthereumSignature> {
    const key = await this.load(id);
    if (key.algorithm !== 'ES256K') throw new Error(`Key ${id} is not a secp256k1 key`);
    const { signature, recovery } = await this.backend.sign('ES256K', key.secretRef, digest, true);
    return { r: hexlify(signature.subarray(0, 32)), s: hexlify(signature.subarray(32)), yParity: recovery ?? 0 };
  }

  private async load(id: string, tx?: Tx): Promise<KeyEntity> {
    const cached = this.rows.get(id);
    if (cached) return cached;
    const key = await this.repository.byId(id, tx);
    if (!key) throw new Error(`Unknown key ${id}`);
    if (!tx) this.rows.set(id, key);
    return key;
  }
}

/** The public JWK of an EC key (credential, token and chain keys are never RSA). */
export function ecPublicJwk(key: PublicKeyInfo): EcPublicJwk {
  if (key.publicJwk.kty !== 'EC') throw new Error(`Key ${key.id} is not an EC key`);
  return key.publicJwk;
}

function toPublicInfo(entity: KeyEntity): PublicKeyInfo {
  return {
    id: entity.id,
    algorithm: entity.algorithm as KeyAlgorithm,
    purpose: entity.purpose as KeyPurpose,
    ownerRef: entity.ownerRef,
    publicKeyHex: entity.publicKeyHex,
    publicJwk: publicJwkOf(entity.algorithm as KeyAlgorithm, Buffer.from(entity.publicKeyHex, 'hex')),
    address: entity.address,
  };
}

function publicJwkOf(algorithm: KeyAlgorithm, raw: Buffer): EcPublicJwk | RsaPublicJwk {
  if (algorithm === 'RS256') {
    const { n, e } = createPublicKey({ key: raw, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return { kty: 'RSA', n: n!, e: e! };
  }
  return {
    kty: 'EC',
    crv: algorithm === 'ES256' ? 'P-256' : 'secp256k1',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33, 65).toString('base64url'),
  };
}
