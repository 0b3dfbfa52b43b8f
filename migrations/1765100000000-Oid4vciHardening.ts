import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * OID4VCI hardening: access-token signing keys created once across replicas (keyed by generation),
 * the DPoP key thumbprint and the authorization_details (as credential identifiers) of a pushed authorization
 * request, and expiry indexes for the purge.
 */
export class Oid4vciHardening1765100000000 implements MigrationInterface {
  name = 'Oid4vciHardening1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'oid4vci_token_keys',
        columns: [
          { name: 'generation', type: 'integer', isPrimary: true },
          { name: 'key_id', type: 'varchar', length: '36' },
          { name: 'kid', type: 'varchar', length: '64' },
          { name: 'public_jwk', type: 'text' },
          { name: 'created_at', type: ts },
          { name: 'retire_at', type: ts, isNullable: true },
        ],
        indices: [{ name: 'ux_oid4vci_token_keys_kid', columnNames: ['kid'], isUnique: true }],
        foreignKeys: [{ columnNames: ['key_id'], referencedTableName: 'keys', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.addColumn(
      'authorization_sessions',
      new TableColumn({ name: 'dpop_jkt', type: 'varchar', length: '64', isNullable: true }),
    );
    await queryRunner.addColumn(
      'authorization_sessions',
      new TableColumn({ name: 'credential_identifiers', type: 'text', isNullable: true }),
    );
    await queryRunner.createIndex(
      'authorization_sessions',
      new TableIndex({ name: 'ix_authorization_sessions_request_expiry', columnNames: ['request_expires_at'] }),
    );
    await queryRunner.createIndex(
      'credential_offers',
      new TableIndex({ name: 'ix_credential_offers_expiry', columnNames: ['expires_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('credential_offers', 'ix_credential_offers_expiry');
    await queryRunner.dropIndex('authorization_sessions', 'ix_authorization_sessions_request_expiry');
    await queryRunner.dropColumn('authorization_sessions', 'credential_identifiers');
    await queryRunner.dropColumn('authorization_sessions', 'dpop_jkt');
    await queryRunner.dropTable('oid4vci_token_keys');
  }
}
