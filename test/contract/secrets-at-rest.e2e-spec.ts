import type { Table } from 'typeorm';
import { openContractDatabase, type ContractDatabase } from './contract-database.js';

/** Column names that sound like a secret a client holds (a code, token, PIN, nonce, state or key). */
const SECRET_LIKE = /code|secret|token|password|pin|nonce|state|jti|request_uri|api_key/;

/** Kept as a digest (SHA-256) or sealed under the master key by src/keys. */
const PROTECTED = /_hash$|_sealed$/;

/**
 * Every secret-like column that is neither a digest nor sealed, with the reason it may be stored as is.
 * A new such column fails the test until it is hashed, sealed, or reviewed and added here.
 */
const REVIEWED: Record<string, string> = {
  'idempotency_records.state': 'in_flight or done, not a secret',
  'idempotency_records.status_code': 'the HTTP status replayed with the response',
  'keys.secret_ref': "the key backend's reference: an encrypted private key or an HSM handle",
  'outbox.nonce': 'the Ethereum account nonce of a signed transaction (public on chain)',
  'authorization_sessions.state': "the wallet's own OAuth state, echoed back to it, not ours to protect",
  'authorization_sessions.code_challenge': 'a PKCE S256 challenge, itself a digest of the verifier',
  'authorization_sessions.code_expires_at': 'a timestamp',
  'credential_offers.tx_code_failures': 'a counter',
  'credential_types.catalogue_code': 'a public licence catalogue code (证照目录编码), not a secret',
  'oidc_clients.id_token_signed_response_alg': 'the name of a signature algorithm (ES256 or RS256)',
  'oidc_clients.token_endpoint_auth_method': 'the name of a client authentication method (e.g. private_key_jwt)',
  'relying_parties.api_key_prefix': 'the public lookup part of the API key (the secret part is api_key_hash)',
  'approval_applications.state': 'pending, approved, rejected or expired: the outcome the chain shows anyway',
  'approval_applications.reason_codes': 'the reason codes of the decisions, public on chain',
  'approval_steps.reason_code': 'a reason code (public on chain) or the credential configuration issued',
  'approval_inbox.state': 'open or closed: whether this department still owes a decision (public on chain)',
};

/**
 * Secrets a client holds (pre-authorized codes, PINs, authorization codes, request URIs, presentation
 * state and nonce, view tokens, API keys, webhook secrets) are stored as digests or sealed, never as given:
 * someone who reads the database (a backup, a replica) cannot redeem or replay them. Checked on the
 * migrated schema of each database.
 */
describe('secrets at rest (schema contract)', () => {
  let database: ContractDatabase;
  /** The tables as migrated (read back from the database, not from the entities), without TypeORM's own. */
  let tables: Table[];
  beforeAll(async () => {
    database = await openContractDatabase('secrets', 1);
    const runner = database.db.dataSource.createQueryRunner();
    try {
      const names = database.db.dataSource.entityMetadatas.map((entity) => entity.tableName);
      tables = await runner.getTables(names);
    } finally {
      await runner.release();
    }
  });
  afterAll(async () => {
    await database?.close();
  });

  it('stores every secret-like column as a digest or sealed, except the reviewed ones', () => {
    expect(tables.length).toBe(database.db.dataSource.entityMetadatas.length);
    const unprotected = tables.flatMap((table) =>
      table.columns
        .map((column) => column.name)
        .filter((name) => SECRET_LIKE.test(name) && !PROTECTED.test(name))
        .map((name) => `${table.name}.${name}`),
    );
    expect(unprotected.sort()).toEqual(Object.keys(REVIEWED).sort());
  });

  it('keeps digests as 64 hexadecimal characters (SHA-256), wide enough for nothing longer', () => {
    const digests = tables.flatMap((table) =>
      table.columns
        .filter((column) => /_hash$/.test(column.name) && SECRET_LIKE.test(column.name))
        .map((column) => ({ column: `${table.name}.${column.name}`, length: column.length })),
    );
    expect(digests.length).toBeGreaterThanOrEqual(8);
    for (const digest of digests) expect(digest).toEqual({ column: digest.column, length: '64' });
  });
});
