import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** A publisher lease per status list, and Idempotency-Key records (h6). */
export class StatusLeaseIdempotency1765600000000 implements MigrationInterface {
  name = 'StatusLeaseIdempotency1765600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('status_lists', [
      new TableColumn({ name: 'publisher_lease_owner', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'publisher_lease_until', type: 'bigint', isNullable: true }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'idempotency_records',
        columns: [
          { name: 'scope', type: 'varchar', length: '80', isPrimary: true },
          { name: 'idem_key', type: 'varchar', length: '255', isPrimary: true },
          { name: 'request_hash', type: 'varchar', length: '64' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'status_code', type: 'integer', isNullable: true },
          { name: 'sealed_response', type: 'text', isNullable: true },
          { name: 'locked_until', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [{ name: 'ix_idempotency_records_expires', columnNames: ['expires_at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_records');
    await queryRunner.dropColumn('status_lists', 'publisher_lease_until');
    await queryRunner.dropColumn('status_lists', 'publisher_lease_owner');
  }
}
