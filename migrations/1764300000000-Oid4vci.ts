import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/** OID4VCI: credential offers (claims sealed), single-use nonces, and notifications. */
export class Oid4vci1764300000000 implements MigrationInterface {
  name = 'Oid4vci1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'credential_offers',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'type_id', type: 'varchar', length: '64' },
          { name: 'configuration_ids', type: 'text' },
          { name: 'issued_configurations', type: 'text' },
          { name: 'claims_sealed', type: 'text', isNullable: true },
          { name: 'flow', type: 'varchar', length: '24' },
          { name: 'approval', type: 'varchar', length: '16', isNullable: true },
          { name: 'offer_sealed', type: 'text', isNullable: true },
          { name: 'pre_auth_code_hash', type: 'varchar', length: '64' },
          { name: 'tx_code_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'tx_code_failures', type: 'integer' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'expires_at', type: ts },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ux_credential_offers_code', columnNames: ['pre_auth_code_hash'], isUnique: true }],
        foreignKeys: [{ columnNames: ['agency_id'], referencedTableName: 'agencies', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oid4vci_nonces',
        columns: [
          { name: 'nonce', type: 'varchar', length: '64', isPrimary: true },
          { name: 'expires_at', type: ts },
          { name: 'used_at', type: ts, isNullable: true },
        ],
        indices: [{ name: 'ix_oid4vci_nonces_expiry', columnNames: ['expires_at'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'authorization_sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'offer_id', type: 'varchar', length: '36' },
          { name: 'client_id', type: 'varchar', length: '200' },
          { name: 'redirect_uri', type: 'varchar', length: '500' },
          { name: 'state', type: 'varchar', length: '200', isNullable: true },
          { name: 'code_challenge', type: 'varchar', length: '128' },
          { name: 'request_uri_hash', type: 'varchar', length: '64' },
          { name: 'request_expires_at', type: ts },
          { name: 'code_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'code_expires_at', type: ts, isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'created_at', type: ts },
        ],
        indices: [
          { name: 'ux_authorization_sessions_request_uri', columnNames: ['request_uri_hash'], isUnique: true },
          { name: 'ux_authorization_sessions_code', columnNames: ['code_hash'], isUnique: true },
        ],
        foreignKeys: [{ columnNames: ['offer_id'], referencedTableName: 'credential_offers', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'deferred_requests',
        columns: [
          { name: 'transaction_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'offer_id', type: 'varchar', length: '36' },
          { name: 'configuration_id', type: 'varchar', length: '100' },
          { name: 'holder_keys', type: 'text' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'created_at', type: ts },
        ],
        foreignKeys: [{ columnNames: ['offer_id'], referencedTableName: 'credential_offers', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'oid4vci_notifications',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'offer_id', type: 'varchar', length: '36' },
          { name: 'credential_ids', type: 'text' },
          { name: 'event', type: 'varchar', length: '32', isNullable: true },
          { name: 'description', type: 'varchar', length: '500', isNullable: true },
          { name: 'reported_at', type: ts, isNullable: true },
        ],
        foreignKeys: [{ columnNames: ['offer_id'], referencedTableName: 'credential_offers', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'deferred_requests',
      'authorization_sessions',
      'oid4vci_notifications',
      'oid4vci_nonces',
      'credential_offers',
    ])
      await queryRunner.dropTable(table);
  }
}
