import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyBackend } from './key-backend.js';
import { KEY_BACKEND } from './key.service.js';
import { HmacKeyRepository } from './hmac-key.repository.js';

const NAME = /^[a-z0-9][a-z0-9:.-]{0,63}$/;

/**
 * HMAC-SHA256 under a named deployment secret, for pseudonyms that must be stable across restarts and replicas
 * (pairwise subject identifiers, derived cookie keys). The secret never leaves this module: it is generated
 * here, stored sealed by the key backend, and opened into memory only to compute MACs.
 */
@Injectable()
export class HmacKeys {
  private readonly secrets = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly repository: HmacKeyRepository,
    @Inject(KEY_BACKEND) private readonly backend: KeyBackend,
  ) {}

  async hmacSha256(name: string, message: string | Uint8Array): Promise<Buffer> {
    const secret = await this.secret(name);
    return createHmac('sha256', secret).update(message).digest();
  }

  private secret(name: string): Promise<Buffer> {
    if (!NAME.test(name)) throw new Error(`Invalid HMAC key name ${name}`);
    let secret = this.secrets.get(name);
    if (!secret) {
      secret = this.load(name);
      // A failed load (database down) is not cached: the next call tries again.
      secret.catch(() => this.secrets.delete(name));
      this.secrets.set(name, secret);
    }
    return secret;
  }

  private async load(name: string): Promise<Buffer> {
    const context = `hmac-key:${name}`;
    const row =
      (await this.repository.byName(name)) ??
      (await this.repository.insertIfAbsent({
        name,
        sealed: await this.backend.encryptData(randomBytes(32), context),
        createdAt: new Date(),
      }));
    return Buffer.from(await this.backend.decryptData(row.sealed, context));
  }
}
