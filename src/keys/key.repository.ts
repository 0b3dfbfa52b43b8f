import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../persistence/index.js';
import { KeyEntity } from './key.entity.js';

/**
 * Storage of key records: public keys and the backend's opaque secret reference. Keys are never changed
 * or deleted once stored (rotation creates a new key), so there is nothing to race for.
 */
@Injectable()
export class KeyRepository {
  constructor(private readonly db: Database) {}

  /** Stores a new key, inside the caller's transaction when given (e.g. with the agency that owns it). */
  async insert(key: KeyEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(KeyEntity).insert(key));
  }

  byId(id: string, tx?: Tx): Promise<KeyEntity | null> {
    return this.db.use(tx, (m) => m.getRepository(KeyEntity).findOneBy({ id }));
  }

  /** The newest key an owner holds for a purpose (the one in use after a rotation), or null. */
  newestOfOwner(ownerRef: string, purpose: string, tx?: Tx): Promise<KeyEntity | null> {
    return this.db.use(tx, (m) =>
      m.getRepository(KeyEntity).findOne({ where: { ownerRef, purpose }, order: { createdAt: 'DESC' } }),
    );
  }

  /** A key by its public key (hex as stored) and purpose, or null: keys are few and never change, so no index. */
  byPublicKey(publicKeyHex: string, purpose: string): Promise<KeyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(KeyEntity).findOneBy({ publicKeyHex, purpose }));
  }
}
