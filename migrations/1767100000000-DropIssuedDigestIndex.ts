import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Performance round 6 (ADR 24): the unique index on `issued_credentials.digest` is read by no query, and as
 * a SHA-256 key it puts every row of a group commit on a random leaf (at 48k credentials, ~30 of ~46 µs of
 * SQLite CPU per issued credential). A credential is recognised through its status entry instead (the list
 * and index it carries name its row; its digest is compared there).
 */
export class DropIssuedDigestIndex1767100000000 implements MigrationInterface {
  name = 'DropIssuedDigestIndex1767100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('issued_credentials', 'ux_issued_credentials_digest');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'issued_credentials',
      new TableIndex({ name: 'ux_issued_credentials_digest', columnNames: ['digest'], isUnique: true }),
    );
  }
}
