import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * OID4VP hardening: relying-party API keys in a table of their own (several live keys, revocation), the
 * nonce stored as a hash, and verdict retention (purge_at / purged_at). Existing keys are copied over.
 */
export class Oid4vpHardening1765300000000 implements MigrationInterface {
  name = 'Oid4vpHardening1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'relying_party_api_keys',
        columns: [
          { name: 'prefix', type: 'varchar', length: '16', isPrimary: true },
          { name: 'relying_party_id', type: 'varchar', length: '36' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: ts },
          { name: 'revoked_at', type: ts, isNullable: true },
        ],
        indices: [
          { name: 'ux_relying_party_api_keys_prefix', columnNames: ['prefix'], isUnique: true },
          { name: 'ix_relying_party_api_keys_party', columnNames: ['relying_party_id'] },
        ],
        foreignKeys: [
          { columnNames: ['relying_party_id'], referencedTableName: 'relying_parties', referencedColumnNames: ['id'] },
        ],
      }),
    );
    await queryRunner.query(
      `INSERT INTO relying_party_api_keys (prefix, relying_party_id, secret_hash, created_at, revoked_at)
       SELECT api_key_prefix, id, api_key_hash, created_at, NULL FROM relying_parties`,
    );
    await queryRunner.addColumns('presentation_requests', [
      new TableColumn({ name: 'nonce_hash', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'purge_at', type: ts, isNullable: true }),
      new TableColumn({ name: 'purged_at', type: ts, isNullable: true }),
    ]);
    await queryRunner.createIndex(
      'presentation_requests',
      new TableIndex({ name: 'ix_presentation_requests_purge_at', columnNames: ['purge_at'] }),
    );
    await queryRunner.createIndex(
      'presentation_requests',
      new TableIndex({ name: 'ix_presentation_requests_expires_at', columnNames: ['status', 'expires_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('presentation_requests', 'ix_presentation_requests_expires_at');
    await queryRunner.dropIndex('presentation_requests', 'ix_presentation_requests_purge_at');
    await queryRunner.dropColumn('presentation_requests', 'purged_at');
    await queryRunner.dropColumn('presentation_requests', 'purge_at');
    await queryRunner.dropColumn('presentation_requests', 'nonce_hash');
    await queryRunner.dropTable('relying_party_api_keys');
  }
}
