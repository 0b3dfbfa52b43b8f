import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Performance round 3 (ADR 20, ADR 7 addendum 3): issuance audit entries wait in `audit_pending` (written
 * in the credential's own commit) until the sealer chains them, so PostgreSQL group commits no longer
 * serialise on the audit head row; and a status list's `used` counts the indices of its reserved blocks
 * (moved when a block is reserved), so they no longer serialise on the list's row either.
 */
export class AuditPending1766800000000 implements MigrationInterface {
  name = 'AuditPending1766800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.createTable(
      new Table({
        name: 'audit_pending',
        columns: [
          // SQLite: only INTEGER PRIMARY KEY autoincrements (and is 64-bit there anyway).
          {
            name: 'id',
            type: postgres ? 'bigint' : 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'at', type: 'varchar', length: '32' },
          { name: 'kind', type: 'varchar', length: '64' },
          { name: 'actor', type: 'varchar', length: '200' },
          { name: 'subject', type: 'varchar', length: '300' },
          { name: 'data', type: 'text' },
        ],
      }),
    );
    await queryRunner.query(
      'UPDATE status_lists SET used = 256 * (SELECT COUNT(*) FROM status_index_blocks b WHERE b.list_id = status_lists.id)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_pending');
    await queryRunner.query(
      'UPDATE status_lists SET used = (SELECT COUNT(*) FROM status_entries e WHERE e.list_id = status_lists.id)',
    );
  }
}
