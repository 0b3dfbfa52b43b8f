import { Injectable } from '@nestjs/common';
import { IsNull, LessThan, LessThanOrEqual, MoreThan, Or } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { CitizenLoginClaimsEntity, CitizenLoginEntity, CitizenLoginSettingEntity } from './login.entity.js';

/** A finish outlived its window and another took the page over (see CitizenLoginRepository.recordGrant). */
export class LoginTakenOver extends Error {}

/** Login pages, the claims a login releases, and the per-deployment settings of wallet login. */
@Injectable()
export class CitizenLoginRepository {
  constructor(private readonly db: Database) {}

  login(interactionUid: string): Promise<CitizenLoginEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(CitizenLoginEntity).findOneBy({ interactionUid }));
  }

  /** Stores a page unless one exists (a reload or a second tab): the stored one wins and is returned. */
  async insertLogin(login: CitizenLoginEntity): Promise<CitizenLoginEntity> {
    try {
      await this.db.use(undefined, (m) => m.getRepository(CitizenLoginEntity).insert(login));
      return login;
    } catch (error) {
      const existing = await this.login(login.interactionUid);
      if (existing) return existing;
      throw error;
    }
  }

  /** Swaps a fresh pair of requests in for the previous pair, unless another request already did. */
  async replaceLogin(previousCrossDeviceRequestId: string, login: CitizenLoginEntity): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CitizenLoginEntity).update(
        { interactionUid: login.interactionUid, crossDeviceRequestId: previousCrossDeviceRequestId, finishedAt: IsNull() },
        {
          crossDeviceRequestId: login.crossDeviceRequestId,
          sameDeviceRequestId: login.sameDeviceRequestId,
          pageSealed: login.pageSealed,
          expiresAt: login.expiresAt,
          grantId: null,
        },
      ),
    );
    return result.affected === 1;
  }

  /** Records the page's same-device request in place of `previous` (none, or one already answered). */
  async setSameDevice(
    interactionUid: string,
    previous: string | null,
    sameDeviceRequestId: string,
    pageSealed: string,
  ): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(CitizenLoginEntity)
        .update(
          { interactionUid, sameDeviceRequestId: previous === null ? IsNull() : previous, finishedAt: IsNull() },
          { sameDeviceRequestId, pageSealed },
        ),
    );
    return result.affected === 1;
  }

  /**
   * The interaction is finished once: true for exactly one caller. With `takeOverBefore`, a finish begun
   * before then (abandoned by a process that died half-way) may be taken over.
   */
  async finishLogin(interactionUid: string, at: Date, takeOverBefore?: Date): Promise<boolean> {
    const unfinished = takeOverBefore ? Or(IsNull(), LessThan(takeOverBefore)) : IsNull();
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(CitizenLoginEntity).update({ interactionUid, finishedAt: unfinished }, { finishedAt: at }),
    );
    return result.affected === 1;
  }

  /**
   * The grant a finish committed, in its transaction, if that finish (begun at `finishedAt`) still owns the page;
   * else it throws, and the transaction (claims, audit entry) rolls back: the page was taken over.
   */
  async recordGrant(interactionUid: string, finishedAt: Date, grantId: string, tx: Tx): Promise<void> {
    const result = await this.db.use(tx, (m) =>
      m.getRepository(CitizenLoginEntity).update({ interactionUid, finishedAt }, { grantId }),
    );
    if (result.affected !== 1) throw new LoginTakenOver('This login was taken over by another finish');
  }

  /** Undoes finishLogin (begun at `finishedAt`) when finishing failed half-way, so that the next poll can try again. */
  async reopenLogin(interactionUid: string, finishedAt: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.getRepository(CitizenLoginEntity).update({ interactionUid, finishedAt }, { finishedAt: null }),
    );
  }

  async insertClaims(claims: CitizenLoginClaimsEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(CitizenLoginClaimsEntity).insert(claims));
  }

  /** The claims of a grant while their retention lasts. */
  claims(grantId: string, now: Date): Promise<CitizenLoginClaimsEntity | null> {
    return this.db.use(undefined, (m) =>
      m.getRepository(CitizenLoginClaimsEntity).findOneBy({ grantId, purgeAt: MoreThan(now) }),
    );
  }

  /** Claims whose retention is over and login pages that expired; returns how many of each went. */
  async purge(now: Date, loginsExpiredBefore: Date): Promise<{ claims: number; logins: number }> {
    return this.db.use(undefined, async (m) => {
      const claims = await m.getRepository(CitizenLoginClaimsEntity).delete({ purgeAt: LessThanOrEqual(now) });
      const logins = await m.getRepository(CitizenLoginEntity).delete({ expiresAt: LessThanOrEqual(loginsExpiredBefore) });
      return { claims: claims.affected ?? 0, logins: logins.affected ?? 0 };
    });
  }

  setting(name: string): Promise<CitizenLoginSettingEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(CitizenLoginSettingEntity).findOneBy({ name }));
  }

  /** Creates a setting once, whichever replica gets there first; everyone gets the stored value back. */
  async settingOnce(name: string, value: string): Promise<string> {
    try {
      await this.db.use(undefined, (m) =>
        m.getRepository(CitizenLoginSettingEntity).insert({ name, value, createdAt: new Date() }),
      );
      return value;
    } catch (error) {
      const existing = await this.setting(name);
      if (existing) return existing.value;
      throw error;
    }
  }
}
