import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A presentation request may carry its own purpose (a wallet login names the portal signed in to), shown in
 * the wallet and written into the holder's usage records with the verdict (ADR 29); null: the relying
 * party's registered purpose.
 */
export class PresentationRequestPurpose1767200000000 implements MigrationInterface {
  name = 'PresentationRequestPurpose1767200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'presentation_requests',
      new TableColumn({ name: 'purpose', type: 'varchar', length: '500', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('presentation_requests', 'purpose');
  }
}
