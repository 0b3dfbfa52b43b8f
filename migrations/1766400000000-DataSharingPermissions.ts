import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Consortium data sharing (issue 15, ADR 15): a presentation request records the on-chain data-sharing
 * permissions it rests on, so its verdict names them. Null: no permission (the one-member default).
 */
export class DataSharingPermissions1766400000000 implements MigrationInterface {
  name = 'DataSharingPermissions1766400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'presentation_requests',
      new TableColumn({ name: 'data_sharing_permissions', type: 'varchar', length: '400', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('presentation_requests', 'data_sharing_permissions');
  }
}
