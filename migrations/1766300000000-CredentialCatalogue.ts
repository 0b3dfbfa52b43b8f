import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * The run-time credential catalogue (issue 13): types with a status and their versioned definitions. The
 * shipped catalogue/*.json files are inserted by the service on start (idempotently), not here.
 */
export class CredentialCatalogue1766300000000 implements MigrationInterface {
  name = 'CredentialCatalogue1766300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'credential_types',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'vc_type', type: 'varchar', length: '100', isUnique: true },
          { name: 'catalogue_code', type: 'varchar', length: '64', isNullable: true },
          { name: 'holder_type', type: 'varchar', length: '16' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'current_version', type: 'integer' },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'credential_type_versions',
        columns: [
          { name: 'type_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'version', type: 'integer', isPrimary: true },
          { name: 'definition', type: 'text' },
          { name: 'schema_digest', type: 'varchar', length: '64' },
          { name: 'published_by', type: 'varchar', length: '64' },
          { name: 'created_at', type: ts },
        ],
        foreignKeys: [{ columnNames: ['type_id'], referencedTableName: 'credential_types', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('credential_type_versions');
    await queryRunner.dropTable('credential_types');
  }
}
