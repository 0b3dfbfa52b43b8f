import { sha256Hex } from '../../common/index.js';
import type { OidcClientRepository, OidcRecordRepository } from './provider-records.repository.js';
import { providerClientMetadata } from './client-registration.js';

/** What oidc-provider hands an adapter to store: the model's JSON, with the ids the adapter indexes. */
export interface AdapterPayload {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
  [key: string]: unknown;
}

export interface StorageDependencies {
  records: OidcRecordRepository;
  clients: OidcClientRepository;
  seal(value: unknown, context: string): Promise<string>;
  open<T>(sealed: string, context: string): Promise<T>;
  /** The error a second use of a single-use record raises (the library's InvalidGrant / InvalidRequestUri). */
  alreadyUsed(model: string): Error;
  now(): Date;
  /** Runs one storage call; a database outage it meets is rethrown as the provider's temporarily_unavailable. */
  guard<T>(work: () => Promise<T>): Promise<T>;
}

/** Models whose records are bearer values used once (codes, pushed requests). */
const SINGLE_USE = new Set([
  'AuthorizationCode',
  'PushedAuthorizationRequest',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * oidc-provider's storage adapter (its documented Adapter interface: upsert, find, findByUid, findByUserCode,
 * consume, destroy, revokeByGrantId) over one TypeORM table on SQLite or PostgreSQL. Ids are stored as SHA-256,
 * payloads sealed with the model and id hash as context, so a row copied under another key does not open.
 * Clients come from the operator-managed `oidc_clients` table (dynamic registration is off).
 *
 * `consume` is one conditional UPDATE: of two concurrent token requests with one code, exactly one gets
 * tokens; the other is refused as the library refuses a replayed code (invalid_grant).
 */
export function storageAdapter(deps: StorageDependencies) {
  return class ChanceryOidcAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      return deps.guard(async () => {
        if (this.model === 'Client') throw new Error('Clients are registered through the operator API');
        const idHash = sha256Hex(id);
        await deps.records.upsert({
          model: this.model,
          idHash,
          payload: await deps.seal(payload, this.context(idHash)),
          grantIdHash: payload.grantId ? sha256Hex(payload.grantId) : null,
          uidHash: payload.uid ? sha256Hex(payload.uid) : null,
          expiresAt: new Date(deps.now().getTime() + Math.max(1, expiresIn) * 1000),
        });
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return deps.guard(async () => {
        if (this.model === 'Client') return this.client(id);
        const idHash = sha256Hex(id);
        return this.open(await deps.records.byId(this.model, idHash));
      });
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return deps.guard(async () => {
        return this.open(await deps.records.byUid(this.model, sha256Hex(uid)));
      });
    }

    // The device flow is off: there are no user codes.
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }

    async consume(id: string): Promise<void> {
      return deps.guard(async () => {
        const consumed = await deps.records.consume(this.model, sha256Hex(id), deps.now());
        if (!consumed && SINGLE_USE.has(this.model)) throw deps.alreadyUsed(this.model);
      });
    }

    async destroy(id: string): Promise<void> {
      return deps.guard(async () => {
        await deps.records.delete(this.model, sha256Hex(id));
      });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      return deps.guard(async () => {
        await deps.records.deleteByGrant(this.model, sha256Hex(grantId));
      });
    }

    private context(idHash: string): string {
      return `oidc:${this.model}:${idHash}`;
    }

    private async open(
      row: { idHash: string; payload: string; expiresAt: Date; consumedAt: Date | null } | null,
    ): Promise<AdapterPayload | undefined> {
      // Expired records are gone, as in a store with TTLs; the purge job deletes the rows.
      if (!row || row.expiresAt <= deps.now()) return undefined;
      const payload = await deps.open<AdapterPayload>(row.payload, this.context(row.idHash));
      return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload;
    }

    private async client(id: string): Promise<AdapterPayload | undefined> {
      const client = /^[0-9a-f-]{36}$/.test(id) ? await deps.clients.byId(id) : null;
      return client ? (providerClientMetadata(client, client.secretHash) as AdapterPayload) : undefined;
    }
  };
}
