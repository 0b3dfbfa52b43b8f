import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * Status indices are handed out from blocks each service process reserves durably (ADR 7): a block
 * reserved is never reserved again, so an index is never reused even when its process dies (kill -9,
 * power loss) before using all of it. The primary key makes two replicas' reservations exclusive.
 */
export class StatusIndexBlocks1766300000000 implements MigrationInterface {
  name = 'StatusIndexBlocks1766300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'status_index_blocks',
        columns: [
          { name: 'list_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'block', type: 'integer', isPrimary: true },
          { name: 'reserved_by', type: 'varchar', length: '36' },
          { name: 'reserved_at', type: ts },
        ],
        foreignKeys: [{ columnNames: ['list_id'], referencedTableName: 'status_lists', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('status_index_blocks');
  }
}
