import { Injectable } from '@nestjs/common';
import { IsNull, LessThanOrEqual } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Database, type Tx } from '../../persistence/index.js';
import { OidcClientEntity, OidcRecordEntity } from './login.entity.js';

/** Registered portals. */
@Injectable()
export class OidcClientRepository {
  constructor(private readonly db: Database) {}

  async insert(client: OidcClientEntity, tx?: Tx): Promise<void> {
    // The JWK set is a JSON column; TypeORM's deep-partial type does not see through the transformer.
    await this.db.use(tx, (m) => m.getRepository(OidcClientEntity).insert(client as QueryDeepPartialEntity<OidcClientEntity>));
  }

  byId(id: string): Promise<OidcClientEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(OidcClientEntity).findOneBy({ id }));
  }

  list(): Promise<OidcClientEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(OidcClientEntity).find({ order: { createdAt: 'ASC' } }));
  }

  async delete(id: string, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) => m.getRepository(OidcClientEntity).delete({ id }));
    return (result.affected ?? 0) > 0;
  }
}

/** oidc-provider's records, one table for every model, keyed by (model, SHA-256 of the id). */
@Injectable()
export class OidcRecordRepository {
  constructor(private readonly db: Database) {}

  /** Insert or replace; `consumed_at` of an existing row is left as it is. */
  async upsert(record: Omit<OidcRecordEntity, 'consumedAt'>): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(OidcRecordEntity)
        .createQueryBuilder()
        .insert()
        .values(record)
        .orUpdate(['payload', 'grant_id_hash', 'uid_hash', 'expires_at'], ['model', 'id_hash'])
        .execute(),
    );
  }

  byId(model: string, idHash: string): Promise<OidcRecordEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(OidcRecordEntity).findOneBy({ model, idHash }));
  }

  byUid(model: string, uidHash: string): Promise<OidcRecordEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(OidcRecordEntity).findOneBy({ model, uidHash }));
  }

  /** Marks the record used: true for exactly one of any number of concurrent callers. */
  async consume(model: string, idHash: string, at: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(OidcRecordEntity).update({ model, idHash, consumedAt: IsNull() }, { consumedAt: at }),
    );
    return result.affected === 1;
  }

  async delete(model: string, idHash: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(OidcRecordEntity).delete({ model, idHash }));
  }

  async deleteByGrant(model: string, grantIdHash: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(OidcRecordEntity).delete({ model, grantIdHash }));
  }

  /** Expired records of every model; returns how many went. */
  async purgeExpired(now: Date): Promise<number> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(OidcRecordEntity).delete({ expiresAt: LessThanOrEqual(now) }),
    );
    return result.affected ?? 0;
  }
}
