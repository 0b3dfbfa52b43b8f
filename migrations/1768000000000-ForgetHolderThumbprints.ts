import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issued credentials no longer record their holder key's thumbprint: nothing reads it, and it was a stable identifier
 * of a citizen's wallet key across every agency's credentials. Those already recorded are forgotten; the column stays
 * (dropping it would rebuild the table on SQLite for nothing), always null from now on.
 */
export class ForgetHolderThumbprints1768000000000 implements MigrationInterface {
  name = 'ForgetHolderThumbprints1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('UPDATE issued_credentials SET holder_thumbprint = NULL WHERE holder_thumbprint IS NOT NULL');
  }

  async down(): Promise<void> {
    // What was forgotten cannot be restored.
  }
}
