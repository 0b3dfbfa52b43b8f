import { Inject, Injectable } from '@nestjs/common';
import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { compactDecrypt, type CompactJWEHeaderParameters } from 'jose';
import type { KeyBackend } from './key-backend.js';
import { KEY_BACKEND } from './key.service.js';

/** The public half of a per-request key agreement key, as a JWK for client_metadata.jwks. */
export interface AgreementPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  use: 'enc';
  alg: 'ECDH-ES';
}

/** What a JWE may use; anything else is refused before any key agreement (RFC 8725 §3.1). */
export interface JweAlgorithms {
  keyManagementAlgorithms: ('ECDH-ES' | 'ECDH-ES+A128KW' | 'ECDH-ES+A256KW')[];
  contentEncryptionAlgorithms: string[];
}

export interface DecryptedJwe {
  plaintext: Uint8Array;
  protectedHeader: CompactJWEHeaderParameters;
  /** Public members of the key that decrypted it (the protocol library wants to know which key it was). */
  publicJwk: Omit<AgreementPublicJwk, 'kid' | 'use' | 'alg'> & { kid?: string };
}

/**
 * Secrets that are not long-lived signing keys: per-request ECDH-ES P-256 keys (sealed; only the public
 * half and an opaque handle leave), decryption of JWEs addressed to them, and shared HMAC secrets. The
 * sealed formats are the ones `KeyService.sealJson` writes (JSON under `context`), so rows written before
 * these operations moved here stay readable.
 */
@Injectable()
export class SealedSecrets {
  constructor(@Inject(KEY_BACKEND) private readonly backend: KeyBackend) {}

  /** A fresh ECDH-ES P-256 key named `kid`; its private half is sealed under `context`. */
  async createEphemeralAgreementKey(context: string, kid: string): Promise<{ publicJwk: AgreementPublicJwk; sealed: string }> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { x, y } = publicKey.export({ format: 'jwk' });
    return {
      publicJwk: { kty: 'EC', crv: 'P-256', x: x!, y: y!, kid, use: 'enc', alg: 'ECDH-ES' },
      sealed: await this.seal(privateKey.export({ format: 'jwk' }), context),
    };
  }

  /**
   * Decrypts a compact JWE with the sealed agreement key. Throws when the key cannot be opened under
   * `context`, when the JWE uses an algorithm outside `algorithms`, or when it was not made for this key.
   */
  async decryptJwe(sealed: string, jwe: string, context: string, algorithms: JweAlgorithms): Promise<DecryptedJwe> {
    const privateJwk = await this.open<JsonWebKey>(sealed, context);
    if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256') throw new Error('Not a P-256 key agreement key');
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, createPrivateKey({ key: privateJwk, format: 'jwk' }), {
      keyManagementAlgorithms: algorithms.keyManagementAlgorithms,
      contentEncryptionAlgorithms: algorithms.contentEncryptionAlgorithms,
    });
    const kid = typeof protectedHeader.kid === 'string' ? { kid: protectedHeader.kid } : {};
    return { plaintext, protectedHeader, publicJwk: { kty: 'EC', crv: 'P-256', x: privateJwk.x!, y: privateJwk.y!, ...kid } };
  }

  /**
   * A new shared secret for HMAC (32 random bytes, base64url). The plain value is returned once, for the
   * party that must verify the MACs; only the sealed form is kept.
   */
  async createHmacSecret(context: string): Promise<{ secret: string; sealed: string }> {
    const secret = randomBytes(32).toString('base64url');
    return { secret, sealed: await this.seal(secret, context) };
  }

  /** HMAC-SHA256 (hex) of `data` under the sealed secret (its UTF-8 bytes are the HMAC key). */
  async hmacSha256(sealed: string, context: string, data: string): Promise<string> {
    const secret = await this.open<string>(sealed, context);
    if (typeof secret !== 'string' || secret.length === 0) throw new Error('Not an HMAC secret');
    return createHmac('sha256', secret).update(data).digest('hex');
  }

  private seal(value: unknown, context: string): Promise<string> {
    return this.backend.encryptData(Buffer.from(JSON.stringify(value)), context);
  }

  private async open<T>(sealed: string, context: string): Promise<T> {
    return JSON.parse(Buffer.from(await this.backend.decryptData(sealed, context)).toString('utf8')) as T;
  }
}
