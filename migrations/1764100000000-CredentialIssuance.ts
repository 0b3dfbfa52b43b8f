import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/** Agency authorisations per credential type, and the digest-only record of issued credentials. */
export class CredentialIssuance1764100000000 implements MigrationInterface {
  name = 'CredentialIssuance1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'agency_authorisations',
        columns: [
          { name: 'agency_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'type_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'outbox_id', type: 'varchar', length: '36' },
          { name: 'updated_at', type: ts },
        ],
        foreignKeys: [{ columnNames: ['agency_id'], referencedTableName: 'agencies', referencedColumnNames: ['id'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'issued_credentials',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'type_id', type: 'varchar', length: '64' },
          { name: 'format', type: 'varchar', length: '16' },
          { name: 'data_model', type: 'varchar', length: '8', isNullable: true },
          { name: 'digest', type: 'varchar', length: '64' },
          { name: 'holder_thumbprint', type: 'varchar', length: '64', isNullable: true },
          { name: 'valid_from', type: ts },
          { name: 'valid_until', type: ts },
          { name: 'issued_at', type: ts },
        ],
        indices: [
          { name: 'ix_issued_credentials_agency', columnNames: ['agency_id'] },
          { name: 'ux_issued_credentials_digest', columnNames: ['digest'], isUnique: true },
        ],
        foreignKeys: [{ columnNames: ['agency_id'], referencedTableName: 'agencies', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('issued_credentials');
    await queryRunner.dropTable('agency_authorisations');
  }
}
