import { Injectable, type OnModuleInit } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { SingleFlight } from '../../common/index.js';
import { Database, type RememberedRows, type Tx, type WatchedTable } from '../../persistence/index.js';
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

/** The tables an API key's lookup reads, as change feeds watch them (PostgreSQL: migration 1767000000000). */
export const AGENCY_API_KEYS: WatchedTable = {
  channel: 'chancery_agency_api_keys',
  table: 'agency_api_keys',
  keySql: 'ROW.prefix',
};
export const AGENCIES: WatchedTable = { channel: 'chancery_agencies', table: 'agencies', keySql: 'ROW.id' };

/** An unrevoked API key: its secret's hash and its agency, as the agency guard checks them. */
export interface ActiveApiKey {
  secretHash: string;
  agency: Agency;
}

/**
 * Active API keys by prefix, remembered between back-office requests while both tables' change feeds
 * vouch for them (ADR 23): a key revoked, or an agency changed, through any replica or by hand is dropped
 * when its notification arrives (PostgreSQL) or at once (SQLite), through this replica at its commit. Only
 * keys found are remembered: an unknown prefix always reads the database.
 */
const activeApiKeysOf = (db: Database): RememberedRows<ActiveApiKey> =>
  db.remembered<ActiveApiKey>(
    'agency-api-keys',
    [
      { table: AGENCY_API_KEYS, keyed: true },
      { table: AGENCIES, keyed: false },
    ],
    { max: 10_000, ttlMs: 10_000 },
  );

@Injectable()
export class AgencyRepository implements OnModuleInit {
  /**
   * Key reads in flight, shared by the requests with one key that miss at once (when its remembered row
   * expires under load, every request in flight would send its own statement). The remembered rows'
   * generation is part of the key: a request after a revocation never joins a read from before it (ADR 31).
   */
  private readonly apiKeyReads = new SingleFlight<ActiveApiKey | null>();

  constructor(private readonly db: Database) {}

  /** The memory and its change feed are made outside any transaction (see CredentialRepository.onModuleInit). */
  onModuleInit(): void {
    activeApiKeysOf(this.db);
  }

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
    activeApiKeysOf(this.db).forget();
  }

  /** Every key of the agency, revoked ones too, oldest first. */
  apiKeys(agencyId: string): Promise<AgencyApiKeyEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(AgencyApiKeyEntity).find({ where: { agencyId }, order: { createdAt: 'ASC', prefix: 'ASC' } }),
    );
  }

  insertApiKey(tx: Tx | undefined, key: AgencyApiKeyEntity): Promise<unknown> {
    return this.db.use(tx, (m) => m.getRepository(AgencyApiKeyEntity).insert(key));
  }

  /**
   * Revokes one active key of an agency by one conditional UPDATE, inside `tx` when given; false when there
   * was none. The remembered key is forgotten now and again once `tx` commits (a lookup meanwhile may have
   * read the row as it was before).
   */
  async revokeApiKey(agencyId: string, prefix: string, at: Date, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m.getRepository(AgencyApiKeyEntity).update({ agencyId, prefix, revokedAt: IsNull() }, { revokedAt: at }),
    );
    const forget = () => activeApiKeysOf(this.db).forget(prefix);
    forget();
    if (tx) this.db.afterCommit(tx, forget);
    return (result.affected ?? 0) > 0;
  }

  /**
   * The agency of an unrevoked API key and the key's secret hash (the agency guard asks on every
   * back-office request): from memory while the change feeds vouch (`activeApiKeysOf`), else by one
   * prepared statement.
   */
  byActiveApiKey(prefix: string): Promise<ActiveApiKey | null> {
    const remembered = activeApiKeysOf(this.db);
    const known = remembered.get(prefix);
    if (known) return Promise.resolve(known);
    const mark = remembered.mark();
    return this.apiKeyReads.run(`${mark} ${prefix}`, () => this.readActiveApiKey(prefix, mark));
  }

  private async readActiveApiKey(prefix: string, mark: number): Promise<ActiveApiKey | null> {
    const remembered = activeApiKeysOf(this.db);
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
    const found = { secretHash: row.secret_hash, agency: Object.freeze(agency) };
    remembered.remember(prefix, found, mark);
    return found;
  }
}
