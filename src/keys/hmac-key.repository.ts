import { Injectable } from '@nestjs/common';
import { Database } from '../persistence/index.js';
import { HmacKeyEntity } from './hmac-key.entity.js';

/** Storage of the sealed secrets; a name is created once, whichever replica wins the insert. */
@Injectable()
export class HmacKeyRepository {
  constructor(private readonly db: Database) {}

  byName(name: string): Promise<HmacKeyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(HmacKeyEntity).findOneBy({ name }));
  }

  /** Inserts unless the name exists; a losing racer reads the winner's row back. */
  async insertIfAbsent(row: HmacKeyEntity): Promise<HmacKeyEntity> {
    try {
      await this.db.use(undefined, (m) => m.getRepository(HmacKeyEntity).insert(row));
      return row;
    } catch (error) {
      const existing = await this.byName(row.name);
      if (existing) return existing;
      throw error;
    }
  }
}
