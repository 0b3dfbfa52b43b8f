import { Injectable } from '@nestjs/common';
import { IsNull, LessThan, MoreThan } from 'typeorm';
import { sha256Hex } from '../../common/index.js';
import { Database } from '../../persistence/index.js';
import { Oid4vciNonceEntity } from './credential-endpoint.entity.js';

/**
 * c_nonces of the nonce endpoint (OID4VCI 1.0 §7): each is consumed by one proof, once. Takes a nonce as the
 * wallet sees it and stores only its SHA-256 digest.
 */
@Injectable()
export class NonceRepository {
  constructor(private readonly db: Database) {}

  async insert(nonce: string, expiresAt: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.getRepository(Oid4vciNonceEntity).insert({ nonceHash: sha256Hex(nonce), expiresAt, usedAt: null }),
    );
  }

  /** Whether a nonce is known, unused and unexpired now (a read: `consume` decides who uses it). */
  async usable(nonce: string, now: Date): Promise<boolean> {
    return this.db.use(undefined, (m) =>
      m.getRepository(Oid4vciNonceEntity).existsBy({ nonceHash: sha256Hex(nonce), usedAt: IsNull(), expiresAt: MoreThan(now) }),
    );
  }

  /** Unused and unexpired → used, in one conditional UPDATE: one of any number of concurrent proofs wins. */
  async consume(nonce: string, now: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(Oid4vciNonceEntity)
        .update({ nonceHash: sha256Hex(nonce), usedAt: IsNull(), expiresAt: MoreThan(now) }, { usedAt: now }),
    );
    return result.affected === 1;
  }

  /** Expired nonces and remembered DPoP jtis. */
  async purgeExpired(now: Date): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).delete({ expiresAt: LessThan(now) }));
  }
}
