import { Injectable } from '@nestjs/common';
import { isDatabaseConnectivityError, sha256Hex } from '../../common/index.js';
import { Database } from '../../persistence/index.js';
import type { JtiReplayStore } from '../../oauth/index.js';
import { Oid4vciNonceEntity } from '../credential-endpoint/credential-endpoint.entity.js';

/**
 * DPoP jti replay (RFC 9449 §11.1) in the database every replica shares: a jti is stored as an
 * already-used row of the nonce table, so the primary key makes exactly one insert win, and the nonce
 * purge drops it once expired. Like a c_nonce, only the key's SHA-256 digest is stored.
 */
@Injectable()
export class DpopReplayRepository implements JtiReplayStore {
  constructor(private readonly db: Database) {}

  async rememberOnce(key: string, expiresAt: Date): Promise<boolean> {
    const nonceHash = sha256Hex(key);
    try {
      await this.db.use(undefined, (m) =>
        m.getRepository(Oid4vciNonceEntity).insert({ nonceHash, expiresAt, usedAt: new Date() }),
      );
      return true;
    } catch (error) {
      // The connection lost (the insert may even have committed): an outage (503), not a replay; a wallet's retry
      // brings a new proof with a new jti.
      if (isDatabaseConnectivityError(error)) throw error;
      const seen = await this.db.use(undefined, (m) => m.getRepository(Oid4vciNonceEntity).countBy({ nonceHash }));
      if (seen > 0) return false;
      throw error;
    }
  }
}
