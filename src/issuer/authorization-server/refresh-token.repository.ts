import { Injectable } from '@nestjs/common';
import { merged } from '../../common/index.js';
import { And, LessThan, MoreThan } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { Oid4vciRefreshTokenEntity } from './refresh-token.entity.js';

/**
 * Refresh-token families (ADR 18). Takes digests only; every transition is one conditional UPDATE, and a
 * rotation's UPDATE and its successor's INSERT are one transaction. A family with a revoked member is revoked
 * as a whole, members inserted after the revocation included: a revocation that commits while a rotation is
 * in flight may not see its successor, which must not stay live.
 */
@Injectable()
export class RefreshTokenRepository {
  constructor(private readonly db: Database) {}

  async insert(token: Oid4vciRefreshTokenEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(Oid4vciRefreshTokenEntity).insert(token));
  }

  /** The token, `revoked` when any member of its family is (see the class comment). */
  async byHash(tokenHash: string): Promise<Oid4vciRefreshTokenEntity | null> {
    const token = await this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).findOneBy({ tokenHash }));
    if (!token || token.status === 'revoked' || !(await this.familyRevoked(token.familyId))) return token;
    return { ...token, status: 'revoked' };
  }

  /**
   * The single-use step of a refresh: `active → rotated` in one conditional UPDATE (of any number of
   * concurrent refreshes with the same token one matches; the others get false), and the successor, in one
   * transaction: a crash between the two (kill -9) used to leave the family without a live token, and a
   * wallet waiting for a deferred credential with no way to collect it. False too when the family was
   * revoked before the successor was in (a reuse meanwhile): the successor is revoked with it.
   */
  rotate(tokenHash: string, successor: Oid4vciRefreshTokenEntity, now: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx
        .getRepository(Oid4vciRefreshTokenEntity)
        .update({ tokenHash, status: 'active', expiresAt: MoreThan(now) }, { status: 'rotated' });
      if (result.affected !== 1) return false;
      return this.insertUnlessFamilyRevoked(tx, successor);
    });
  }

  /**
   * A rotated token presented again within the retry grace: if the token it was rotated into is still unused
   * (active, made after `madeAfter` and before `successor`), that one is `replaced` by one conditional UPDATE
   * (of concurrent retries one matches) and `successor` takes its place: a wallet retrying a refresh whose
   * response it lost. False when the successor was used or replaced meanwhile: that is reuse.
   */
  async replaceUnusedSuccessor(
    previousHash: string,
    successor: Oid4vciRefreshTokenEntity,
    madeAfter: Date,
    now: Date,
  ): Promise<boolean> {
    // One transaction, as a rotation: a crash between the UPDATE and the INSERT left no live token.
    return this.db.transaction(async (tx) => {
      const result = await tx.getRepository(Oid4vciRefreshTokenEntity).update(
        // Made before this retry's own successor: a concurrent retry's successor, inserted just after its
        // UPDATE, is not "the unused one" for the others (else two of them could win one after the other).
        {
          previousHash,
          status: 'active',
          createdAt: And(MoreThan(madeAfter), LessThan(successor.createdAt)),
          expiresAt: MoreThan(now),
        },
        { status: 'replaced' },
      );
      if (result.affected !== 1) return false;
      // Stamped when it is stored, after its UPDATE, not when this retry began: a retry that began before this
      // moment overlapped this one and must not take the successor for "the unused one" it replaces (the two
      // would both win). One that begins later came after this answer, which the wallet may have lost: it may.
      return this.insertUnlessFamilyRevoked(tx, merged(successor, { createdAt: new Date() }));
    });
  }

  /**
   * A revocation that committed before this read did not see the successor: revoke again. One that commits
   * after it (it could not see the uncommitted successor) is caught by `byHash` when the successor is presented.
   */
  private async insertUnlessFamilyRevoked(tx: Tx, successor: Oid4vciRefreshTokenEntity): Promise<boolean> {
    await this.insert(successor, tx);
    if (!(await tx.getRepository(Oid4vciRefreshTokenEntity).existsBy({ familyId: successor.familyId, status: 'revoked' })))
      return true;
    await tx.getRepository(Oid4vciRefreshTokenEntity).update({ familyId: successor.familyId }, { status: 'revoked' });
    return false;
  }

  /** Whether a token replaced `previousHash` (used or not); none while that token's rotation is in flight. */
  hasSuccessor(previousHash: string): Promise<boolean> {
    return this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).existsBy({ previousHash }));
  }

  private familyRevoked(familyId: string): Promise<boolean> {
    return this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).existsBy({ familyId, status: 'revoked' }));
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
