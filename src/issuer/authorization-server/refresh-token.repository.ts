import { Injectable } from '@nestjs/common';
import { LessThan, MoreThan } from 'typeorm';
import { Database } from '../../persistence/index.js';
import { Oid4vciRefreshTokenEntity } from './refresh-token.entity.js';

/** Refresh-token families (ADR 18). Takes digests only; every transition is one conditional UPDATE. */
@Injectable()
export class RefreshTokenRepository {
  constructor(private readonly db: Database) {}

  async insert(token: Oid4vciRefreshTokenEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).insert(token));
  }

  byHash(tokenHash: string): Promise<Oid4vciRefreshTokenEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).findOneBy({ tokenHash }));
  }

  /**
   * The single-use step of a refresh: `active → rotated` and the successor inserted, in one transaction. Of
   * any number of concurrent refreshes with the same token one UPDATE matches; the others get false.
   */
  async rotate(tokenHash: string, successor: Oid4vciRefreshTokenEntity, now: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx
        .getRepository(Oid4vciRefreshTokenEntity)
        .update({ tokenHash, status: 'active', expiresAt: MoreThan(now) }, { status: 'rotated' });
      if (result.affected !== 1) return false;
      await tx.getRepository(Oid4vciRefreshTokenEntity).insert(successor);
      return true;
    });
  }

  /** Reuse detected (RFC 9700 §4.14.2): every token of the family is dead. */
  async revokeFamily(familyId: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).update({ familyId }, { status: 'revoked' }));
  }

  /** Families past their end (rotated and revoked rows are kept until then, for reuse detection). */
  async purgeExpired(now: Date): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).delete({ expiresAt: LessThan(now) }));
  }
}
