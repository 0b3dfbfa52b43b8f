import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Answered presentation requests are deleted PRESENTATION_REQUEST_RETENTION_DAYS after their purge: the purge job
 * finds them by `purged_at` every minute, which without an index reads the whole table.
 */
export class PresentationRequestPurgedIndex1767400000000 implements MigrationInterface {
  name = 'PresentationRequestPurgedIndex1767400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'presentation_requests',
      new TableIndex({ name: 'ix_presentation_requests_purged_at', columnNames: ['purged_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('presentation_requests', 'ix_presentation_requests_purged_at');
  }
}
