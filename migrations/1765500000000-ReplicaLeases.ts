import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * Safe replicas: which worker holds an outbox entry (its lease already has `lease_until`), and named
 * leases for jobs that must run on one replica at a time (the reconciler).
 */
export class ReplicaLeases1765500000000 implements MigrationInterface {
  name = 'ReplicaLeases1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.addColumn(
      'outbox',
      new TableColumn({ name: 'claimed_by', type: 'varchar', length: '64', isNullable: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'job_leases',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '64', isNullable: true },
          { name: 'lease_until', type: ts, isNullable: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('job_leases');
    await queryRunner.dropColumn('outbox', 'claimed_by');
  }
}
