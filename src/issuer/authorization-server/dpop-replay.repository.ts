import { Injectable } from '@nestjs/common';
import { Database } from '../../persistence/index.js';
import type { JtiReplayStore } from '../../oauth/index.js';
import { Oid4vciNonceEntity } from '../credential-endpoint/credential-endpoint.entity.js';

/**
 * DPoP jti replay (RFC 9449 §11.1) in the database every replica shares: a jti is stored as an
 * already-used row of the nonce table, so the primary key makes exactly one insert win, and the nonce
 * purge drops it once expired.
 */
@Injectable()
export class DpopReplayRepository implements JtiReplayStore {
  constructor(private readonly db: Database) {}

  async rememberOnce(key: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.db.use(undefined, (m) =>
        m.getRepository(Oid4vciNonceEntity).insert({ nonce: key, expiresAt, usedAt: new Date() }),
      );
      return true;
    } catch (error) {
      const seen = await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).countBy({ nonce: key }));
      if (seen > 0) return false;
      throw error;
    }
  }
}
