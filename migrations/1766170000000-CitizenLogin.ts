import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * Wallet login (issue 17): registered portals, oidc-provider's records, login pages, the claims a login
 * releases (kept for OIDC_CLAIMS_RETENTION_SECONDS), per-deployment settings; and src/keys' named HMAC secrets.
 */
export class CitizenLogin1766170000000 implements MigrationInterface {
  name = 'CitizenLogin1766170000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'hmac_keys',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'sealed', type: 'text' },
          { name: 'created_at', type: ts },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oidc_clients',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'redirect_uris', type: 'text' },
          { name: 'scopes', type: 'text' },
          { name: 'token_endpoint_auth_method', type: 'varchar', length: '32' },
          { name: 'secret_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'jwks', type: 'text', isNullable: true },
          { name: 'data_sharing_permission', type: 'varchar', length: '200', isNullable: true },
          { name: 'created_at', type: ts },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oidc_records',
        columns: [
          { name: 'model', type: 'varchar', length: '40', isPrimary: true },
          { name: 'id_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'payload', type: 'text' },
          { name: 'grant_id_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'uid_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'expires_at', type: ts },
          { name: 'consumed_at', type: ts, isNullable: true },
        ],
        indices: [
          { name: 'ix_oidc_records_grant', columnNames: ['grant_id_hash'] },
          { name: 'ix_oidc_records_uid', columnNames: ['uid_hash'] },
          { name: 'ix_oidc_records_expires', columnNames: ['expires_at'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'citizen_logins',
        columns: [
          { name: 'interaction_uid', type: 'varchar', length: '64', isPrimary: true },
          { name: 'client_id', type: 'varchar', length: '36' },
          { name: 'scope', type: 'varchar', length: '64' },
          { name: 'cross_device_request_id', type: 'varchar', length: '64' },
          { name: 'same_device_request_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'page_sealed', type: 'text' },
          { name: 'expires_at', type: ts },
          { name: 'finished_at', type: ts, isNullable: true },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_citizen_logins_expires', columnNames: ['expires_at'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'citizen_login_claims',
        columns: [
          { name: 'grant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'client_id', type: 'varchar', length: '36' },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'claims_sealed', type: 'text' },
          { name: 'purge_at', type: ts },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_citizen_login_claims_purge', columnNames: ['purge_at'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'citizen_login_settings',
        columns: [
          { name: 'name', type: 'varchar', length: '100', isPrimary: true },
          { name: 'value', type: 'text' },
          { name: 'created_at', type: ts },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'citizen_login_settings',
      'citizen_login_claims',
      'citizen_logins',
      'oidc_records',
      'oidc_clients',
      'hmac_keys',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
