import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { AgencyApiKeyEntity, AgencyEntity, type AgencyStatus } from './agency.entity.js';

export type Agency = Readonly<AgencyEntity>;

/** An `agencies` row as raw SQL returns it. */
interface AgencyRow {
  id: string;
  slug: string;
  name: string;
  did: string;
  controller_key_id: string;
  signing_key_id: string;
  signing_kid: string | null;
  service_endpoint: string;
  status: AgencyStatus;
  created_at: unknown;
}

@Injectable()
export class AgencyRepository {
  constructor(private readonly db: Database) {}

  insert(tx: Tx, agency: AgencyEntity): Promise<unknown> {
    return tx.getRepository(AgencyEntity).insert(agency);
  }

  byId(id: string, tx?: Tx): Promise<Agency | null> {
    return this.db.use(tx, (m) => m.getRepository(AgencyEntity).findOneBy({ id }));
  }

  bySlug(slug: string, tx?: Tx): Promise<Agency | null> {
    return this.db.use(tx, (m) => m.getRepository(AgencyEntity).findOneBy({ slug }));
  }

  byDid(did: string): Promise<Agency | null> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).findOneBy({ did }));
  }

  list(): Promise<Agency[]> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).find({ order: { createdAt: 'ASC' } }));
  }

  withStatus(status: AgencyStatus): Promise<Agency[]> {
    return this.db.use(undefined, (m) => m.getRepository(AgencyEntity).findBy({ status }));
  }

  async activate(id: string, signingKid: string): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(AgencyEntity).update({ id }, { status: 'active', signingKid }));
  }

  insertApiKey(tx: Tx | undefined, key: AgencyApiKeyEntity): Promise<unknown> {
    return this.db.use(tx, (m) => m.getRepository(AgencyApiKeyEntity).insert(key));
  }

  /** Revokes one active key of an agency by one conditional UPDATE; false when there was none. */
  async revokeApiKey(agencyId: string, prefix: string, at: Date): Promise<boolean> {
    const result = await this.db.use(undefined, (m) =>
      m.getRepository(AgencyApiKeyEntity).update({ agencyId, prefix, revokedAt: IsNull() }, { revokedAt: at }),
    );
    return (result.affected ?? 0) > 0;
  }

  /**
   * The agency of an unrevoked API key and the key's secret hash, by one prepared statement (the agency
   * guard runs it on every back-office request; no cache, so a key revoked on any replica fails at once).
   */
  async byActiveApiKey(prefix: string): Promise<{ secretHash: string; agency: Agency } | null> {
    const { driver } = this.db;
    const rows = await this.db.raw(undefined, (sql) =>
      sql.all<AgencyRow & { secret_hash: string }>(
        driver.sql(
          'SELECT k.secret_hash, a.id, a.slug, a.name, a.did, a.controller_key_id, a.signing_key_id, a.signing_kid, ' +
            'a.service_endpoint, a.status, a.created_at FROM agency_api_keys k JOIN agencies a ON a.id = k.agency_id ' +
            'WHERE k.prefix = ? AND k.revoked_at IS NULL',
        ),
        [prefix],
      ),
    );
    const row = rows[0];
    if (!row) return null;
    const agency: AgencyEntity = {
      id: row.id,
      slug: row.slug,
      name: row.name,
      did: row.did,
      controllerKeyId: row.controller_key_id,
      signingKeyId: row.signing_key_id,
      signingKid: row.signing_kid,
      serviceEndpoint: row.service_endpoint,
      status: row.status,
      createdAt: driver.readDate(row.created_at),
    };
    return { secretHash: row.secret_hash, agency };
  }
}
