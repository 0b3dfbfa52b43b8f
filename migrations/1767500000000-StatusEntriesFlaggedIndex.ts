import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Each status-list publication reads the list's flagged entries (revoked or suspended). Without an index it walked
 * every entry of the list through the primary key: 27–59 ms on the event loop for a full list of 65,536 entries,
 * every STATUS_PUBLISH_INTERVAL_MS while status changes come in. A partial index holds only the flagged few.
 */
export class StatusEntriesFlaggedIndex1767500000000 implements MigrationInterface {
  name = 'StatusEntriesFlaggedIndex1767500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'status_entries',
      new TableIndex({ name: 'ix_status_entries_flagged', columnNames: ['list_id', 'idx'], where: 'revoked OR suspended' }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('status_entries', 'ix_status_entries_flagged');
  }
}
