import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import type { ClientIdPrefix } from '../../oid4vp/index.js';
import { RelyingPartyApiKeyEntity, RelyingPartyEntity, type AllowedClaims } from './relying-party.entity.js';

/** A `relying_parties` row as the driver returns it. */
interface PartyRow {
  id: string;
  name: string;
  purpose: string;
  allowed_claims: string;
  client_id_prefix: string;
  signing_key_id: string;
  certificate: string | null;
  webhook_url: string | null;
  webhook_secret_sealed: string | null;
  api_key_prefix: string;
  api_key_hash: string;
  created_at: unknown;
}

@Injectable()
export class RelyingPartyRepository {
  constructor(private readonly db: Database) {}

  /** The party and its first API key, together: in `tx` when given, else in a transaction of their own. */
  async insert(party: RelyingPartyEntity, tx?: Tx): Promise<void> {
    const write = async (m: Tx) => {
      await m.getRepository(RelyingPartyEntity).insert(party);
      await m.getRepository(RelyingPartyApiKeyEntity).insert({
        prefix: party.apiKeyPrefix,
        relyingPartyId: party.id,
        secretHash: party.apiKeyHash,
        createdAt: party.createdAt,
        revokedAt: null,
      });
    };
    await (tx ? write(tx) : this.db.transaction(write));
  }

  byId(id: string): Promise<RelyingPartyEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).findOneBy({ id }));
  }

  /** Every registered party, oldest first. */
  all(): Promise<RelyingPartyEntity[]> {
    return this.db.use(undefined, (m) => m.getRepository(RelyingPartyEntity).find({ order: { createdAt: 'ASC' } }));
  }

  /**
   * The party of a live (not revoked) API key and the key's secret hash, by one prepared statement (the
   * relying-party guard runs it on every request; no cache, so a key revoked on any replica fails at once).
   * Hydrated as TypeORM hydrates the entity.
   */
  async byLiveApiKey(prefix: string): Promise<{ secretHash: string; party: RelyingPartyEntity } | null> {
    const { driver } = this.db;
    const rows = await this.db.raw(undefined, (sql) =>
      sql.all<PartyRow & { secret_hash: string }>(
        driver.sql(
          'SELECT k.secret_hash, p.id, p.name, p.purpose, p.allowed_claims, p.client_id_prefix, p.signing_key_id, ' +
            'p.certificate, p.webhook_url, p.webhook_secret_sealed, p.api_key_prefix, p.api_key_hash, p.created_at ' +
            'FROM relying_party_api_keys k JOIN relying_parties p ON p.id = k.relying_party_id ' +
            'WHERE k.prefix = ? AND k.revoked_at IS NULL',
        ),
        [prefix],
      ),
    );
    const row = rows[0];
    if (!row) return null;
    const party: RelyingPartyEntity = {
      id: row.id,
      name: row.name,
      purpose: row.purpose,
      allowedClaims: JSON.parse(row.allowed_claims) as AllowedClaims,
      clientIdPrefix: row.client_id_prefix as ClientIdPrefix,
      signingKeyId: row.signing_key_id,
      certificate: row.certificate,
      webhookUrl: row.webhook_url,
      webhookSecretSealed: row.webhook_secret_sealed,
      apiKeyPrefix: row.api_key_prefix,
      apiKeyHash: row.api_key_hash,
      createdAt: driver.readDate(row.created_at),
    };
    return { secretHash: row.secret_hash, party };
  }

  async insertApiKey(key: RelyingPartyApiKeyEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(RelyingPartyApiKeyEntity).insert(key));
  }

  /**
   * Revokes one live key of the party (a conditional UPDATE: of concurrent revocations exactly one reports
   * true), inside `tx` when given; false if there is no live key by that prefix.
   */
  async revokeApiKey(relyingPartyId: string, prefix: string, at: Date, tx?: Tx): Promise<boolean> {
    const outcome = await this.db.use(tx, (m) =>
      m.getRepository(RelyingPartyApiKeyEntity).update({ prefix, relyingPartyId, revokedAt: IsNull() }, { revokedAt: at }),
    );
    return outcome.affected === 1;
  }

  apiKeys(relyingPartyId: string): Promise<RelyingPartyApiKeyEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(RelyingPartyApiKeyEntity).find({ where: { relyingPartyId }, order: { createdAt: 'ASC' } }),
    );
  }
}
