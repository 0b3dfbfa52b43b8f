import { Injectable } from '@nestjs/common';
import { IsNull, MoreThan } from 'typeorm';
import { Database } from '../../persistence/index.js';
import { Oid4vciTokenKeyEntity } from './token-key.entity.js';

/** Access-token signing keys; a generation is created once whatever the number of racing replicas. */
@Injectable()
export class TokenKeyRepository {
  constructor(private readonly db: Database) {}

  /** Keys that still verify tokens at `now`, newest generation first. */
  active(now: Date): Promise<Oid4vciTokenKeyEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(Oid4vciTokenKeyEntity).find({
        where: [{ retireAt: IsNull() }, { retireAt: MoreThan(now) }],
        order: { generation: 'DESC' },
      }),
    );
  }

  /** The newest generation ever created, active or not. */
  latest(): Promise<Oid4vciTokenKeyEntity | null> {
    return this.db.use(undefined, (m) =>
      m.getRepository(Oid4vciTokenKeyEntity).findOne({ where: {}, order: { generation: 'DESC' } }),
    );
  }

  /**
   * Inserts a generation unless another replica already did: true if ours was stored. Any other failure
   * (the generation not being there afterwards) is rethrown.
   */
  async insertIfAbsent(key: Oid4vciTokenKeyEntity): Promise<boolean> {
    try {
      await this.db.use(undefined, (m) => m.getRepository(Oid4vciTokenKeyEntity).insert(key));
      return true;
    } catch (error) {
      const existing = await this.db.use(undefined, (m) =>
        m.getRepository(Oid4vciTokenKeyEntity).countBy({ generation: key.generation }),
      );
      if (existing > 0) return false;
      throw error;
    }
  }

  /** Rotation: every generation below `current` that is not yet retiring stops verifying at `retireAt`. */
  async retireOlderThan(current: number, retireAt: Date): Promise<void> {
    await this.db.use(undefined, (m) =>
      m
        .getRepository(Oid4vciTokenKeyEntity)
        .createQueryBuilder()
        .update()
        .set({ retireAt })
        .where('generation < :current AND retire_at IS NULL', { current })
        .execute(),
    );
  }
}
