import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../persistence/index.js';
import { AuthorizationSessionEntity } from './authorization-session.entity.js';

/** Authorization code flows (PAR → login → code → token); each step is one conditional UPDATE. */
@Injectable()
export class AuthorizationSessionRepository {
  constructor(private readonly db: Database) {}

  async insert(session: AuthorizationSessionEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).insert(session));
  }

  byRequestUri(requestUriHash: string): Promise<AuthorizationSessionEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).findOneBy({ requestUriHash }));
  }

  byCode(codeHash: string): Promise<AuthorizationSessionEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(AuthorizationSessionEntity).findOneBy({ codeHash }));
  }

  /**
   * A pushed request's login page opened: its request_uri stays usable until `until`, if it still expires at
   * `from` (what the caller read: one extension however many open it at once) and `until` is later.
   */
  async extendRequest(id: string, from: Date, until: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(AuthorizationSessionEntity)
        .createQueryBuilder()
        .update()
        .set({ requestExpiresAt: until })
        .where('id = :id AND status = :status AND request_expires_at = :from AND request_expires_at < :until', {
          id,
          status: 'pushed',
          from,
          until,
        })
        .execute(),
    );
    return result.affected === 1;
  }

  /** pushed → authorized (the citizen logged in), once. */
  async authorize(id: string, codeHash: string, codeExpiresAt: Date, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(AuthorizationSessionEntity)
        .update({ id, status: 'pushed' }, { status: 'authorized', codeHash, codeExpiresAt }),
    );
    return result.affected === 1;
  }

  /** authorized → exchanged: the authorization code is single-use. */
  async exchangeCode(id: string, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m.getRepository(AuthorizationSessionEntity).update({ id, status: 'authorized' }, { status: 'exchanged' }),
    );
    return result.affected === 1;
  }

  /** Pushed requests and unexchanged codes past their expiry (plain DELETE; replicas may overlap). */
  async purgeExpired(now: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(AuthorizationSessionEntity)
        .createQueryBuilder()
        .delete()
        .where("request_expires_at < :now AND (status <> 'authorized' OR code_expires_at < :now)", { now })
        .execute(),
    );
  }
}
