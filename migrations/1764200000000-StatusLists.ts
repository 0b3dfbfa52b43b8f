import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/** Status lists, their entries (random indices), signed publications, and the audit trail of changes. */
export class StatusLists1764200000000 implements MigrationInterface {
  name = 'StatusLists1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    const agencyFk = { columnNames: ['agency_id'], referencedTableName: 'agencies', referencedColumnNames: ['id'] };
    await queryRunner.createTable(
      new Table({
        name: 'status_lists',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'size', type: 'integer' },
          { name: 'used', type: 'integer' },
          { name: 'issuer_did', type: 'varchar', length: '120' },
          { name: 'signing_key_id', type: 'varchar', length: '36' },
          { name: 'signing_kid', type: 'varchar', length: '200' },
          { name: 'controller_key_id', type: 'varchar', length: '36' },
          { name: 'revocation_seq', type: 'integer' },
          { name: 'suspension_seq', type: 'integer' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_status_lists_agency', columnNames: ['agency_id', 'kind'] }],
        foreignKeys: [agencyFk],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'status_entries',
        columns: [
          { name: 'list_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'idx', type: 'integer', isPrimary: true },
          { name: 'credential_id', type: 'varchar', length: '36' },
          { name: 'revoked', type: 'boolean' },
          { name: 'suspended', type: 'boolean' },
          { name: 'updated_at', type: ts },
        ],
        indices: [{ name: 'ix_status_entries_credential', columnNames: ['credential_id'] }],
        foreignKeys: [{ columnNames: ['list_id'], referencedTableName: 'status_lists', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'status_publications',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'list_id', type: 'varchar', length: '36' },
          { name: 'purpose', type: 'varchar', length: '16' },
          { name: 'version', type: 'integer' },
          { name: 'seq', type: 'integer' },
          { name: 'jwt', type: 'text' },
          { name: 'digest', type: 'varchar', length: '64' },
          { name: 'outbox_id', type: 'varchar', length: '36' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ux_status_publications_version', columnNames: ['list_id', 'purpose', 'version'], isUnique: true }],
        foreignKeys: [{ columnNames: ['list_id'], referencedTableName: 'status_lists', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'status_audit',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'credential_id', type: 'varchar', length: '36' },
          { name: 'action', type: 'varchar', length: '16' },
          { name: 'reason', type: 'varchar', length: '500' },
          { name: 'actor', type: 'varchar', length: '64' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_status_audit_credential', columnNames: ['credential_id'] }],
        foreignKeys: [agencyFk],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['status_audit', 'status_publications', 'status_entries', 'status_lists'])
      await queryRunner.dropTable(table);
  }
}
