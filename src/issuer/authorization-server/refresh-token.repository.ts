import { Injectable } from '@nestjs/common';
import { And, LessThan, MoreThan } from 'typeorm';
import { Database, type SyncStatement, type Tx } from '../../persistence/index.js';
import { Oid4vciRefreshTokenEntity } from './refresh-token.entity.js';

/** Refresh-token families (ADR 18). Takes digests only; every transition is one conditional UPDATE. */
@Injectable()
export class RefreshTokenRepository {
  constructor(private readonly db: Database) {}

  async insert(token: Oid4vciRefreshTokenEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(Oid4vciRefreshTokenEntity).insert(token));
  }

  byHash(tokenHash: string): Promise<Oid4vciRefreshTokenEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(Oid4vciRefreshTokenEntity).findOneBy({ tokenHash }));
  }

  /**
   * The single-use step of a refresh: `active → rotated` in one conditional UPDATE (of any number of
   * concurrent refreshes with the same token one matches; the others get false), and the successor, in one
   * transaction. Nobody sees the token rotated without its successor: a concurrent reuse that found it so
   * revoked the family before the successor was inserted, which then lived on.
   */
  async rotate(tokenHash: string, successor: Oid4vciRefreshTokenEntity, now: Date): Promise<boolean> {
    if (this.db.kind === 'sqlite') {
      return this.db.sqliteTransaction((run) => {
        const rotated = run(
          "UPDATE oid4vci_refresh_tokens SET status = 'rotated' WHERE token_hash = ? AND status = 'active' AND expires_at > ?",
          [tokenHash, this.db.driver.date(now)],
        );
        if (rotated !== 1) return false;
        this.insertNow(run, successor);
        return true;
      });
    }
    return this.db.transaction(async (tx) => {
      const result = await tx
        .getRepository(Oid4vciRefreshTokenEntity)
        .update({ tokenHash, status: 'active', expiresAt: MoreThan(now) }, { status: 'rotated' });
      if (result.affected !== 1) return false;
      await this.insert(successor, tx);
      return true;
    });
  }

  /**
   * A rotated token presented again within the retry grace: if the token it was rotated into is still unused
   * (active, made after `madeAfter` and before `successor`), that one is retired by one conditional UPDATE
   * (of concurrent retries one matches) and `successor` takes its place: a wallet retrying a refresh whose
   * response it lost. False when the successor was used or replaced meanwhile: that is reuse.
   */
  async replaceUnusedSuccessor(
    previousHash: string,
    successor: Oid4vciRefreshTokenEntity,
    madeAfter: Date,
    now: Date,
  ): Promise<boolean> {
    // Made before this retry's own successor: a concurrent retry's successor, inserted with its UPDATE, is
    // not "the unused one" for the others (else two of them could win one after the other). One transaction,
    // as in rotate: the retired successor and its replacement are seen together.
    if (this.db.kind === 'sqlite') {
      const date = (value: Date) => this.db.driver.date(value);
      return this.db.sqliteTransaction((run) => {
        const retired = run(
          "UPDATE oid4vci_refresh_tokens SET status = 'rotated' WHERE previous_hash = ? AND status = 'active' " +
            'AND created_at > ? AND created_at < ? AND expires_at > ?',
          [previousHash, date(madeAfter), date(successor.createdAt), date(now)],
        );
        if (retired !== 1) return false;
        this.insertNow(run, successor);
        return true;
      });
    }
    return this.db.transaction(async (tx) => {
      const result = await tx.getRepository(Oid4vciRefreshTokenEntity).update(
        {
          previousHash,
          status: 'active',
          createdAt: And(MoreThan(madeAfter), LessThan(successor.createdAt)),
          expiresAt: MoreThan(now),
        },
        { status: 'rotated' },
      );
      if (result.affected !== 1) return false;
      await this.insert(successor, tx);
      return true;
    });
  }

  /** The successor's row inside a synchronous SQLite transaction, its values written as TypeORM writes them. */
  private insertNow(run: SyncStatement, token: Oid4vciRefreshTokenEntity): void {
    run(
      'INSERT INTO oid4vci_refresh_tokens (token_hash, family_id, offer_id, dpop_jkt, credential_identifiers, ' +
        'previous_hash, status, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        token.tokenHash,
        token.familyId,
        token.offerId,
        token.dpopJkt,
        token.credentialIdentifiers === null ? null : JSON.stringify(token.credentialIdentifiers),
        token.previousHash,
        token.status,
        this.db.driver.date(token.expiresAt),
        this.db.driver.date(token.createdAt),
      ],
    );
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
