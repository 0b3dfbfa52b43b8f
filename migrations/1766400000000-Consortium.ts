import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The consortium (issue 15, ADR 15): a presentation request records the on-chain data-sharing permissions
 * it rests on, so its verdict names them (null: none, the one-member default); an outbox entry records its
 * block's timestamp, so that the embedded node's journal replay mines it at the same time again.
 */
export class Consortium1766400000000 implements MigrationInterface {
  name = 'Consortium1766400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'presentation_requests',
      new TableColumn({ name: 'data_sharing_permissions', type: 'varchar', length: '400', isNullable: true }),
    );
    await queryRunner.addColumn('outbox', new TableColumn({ name: 'block_timestamp', type: 'integer', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('outbox', 'block_timestamp');
    await queryRunner.dropColumn('presentation_requests', 'data_sharing_permissions');
  }
}
