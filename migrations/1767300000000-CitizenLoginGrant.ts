import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A wallet login records the grant its finish committed (with the released claims and the audit entry), so a
 * finish that failed or died after that commit is completed with the same grant instead of a second one.
 */
export class CitizenLoginGrant1767300000000 implements MigrationInterface {
  name = 'CitizenLoginGrant1767300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'citizen_logins',
      new TableColumn({ name: 'grant_id', type: 'varchar', length: '64', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('citizen_logins', 'grant_id');
  }
}
