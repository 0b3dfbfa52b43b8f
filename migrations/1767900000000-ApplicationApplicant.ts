import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A wallet-started joint-approval application names its applicant by a keyed hash of the citizen's subject, and one
 * citizen has at most one pending application per type: each costs a chain transaction and the other departments'
 * attention, and a sign-in could otherwise be repeated to file any number of them.
 */
export class ApplicationApplicant1767900000000 implements MigrationInterface {
  name = 'ApplicationApplicant1767900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'approval_applications',
      new TableColumn({ name: 'applicant_hash', type: 'varchar', length: '64', isNullable: true }),
    );
    await queryRunner.createIndex(
      'approval_applications',
      new TableIndex({
        name: 'ux_approval_applications_pending_applicant',
        columnNames: ['applicant_hash', 'type_id'],
        isUnique: true,
        where: "state = 'pending' AND applicant_hash IS NOT NULL",
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('approval_applications', 'ux_approval_applications_pending_applicant');
    await queryRunner.dropColumn('approval_applications', 'applicant_hash');
  }
}
