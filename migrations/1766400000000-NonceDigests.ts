import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sha256Hex } from '../src/common/secrets.js';

/**
 * c_nonces and remembered DPoP jtis (issue 12) are kept as their SHA-256 digest, like pre-authorized codes:
 * `oid4vci_nonces.nonce` becomes `nonce_hash`, and the rows already there (short-lived, few) are hashed in
 * place so that outstanding nonces stay valid and remembered jtis stay refused.
 */
export class NonceDigests1766400000000 implements MigrationInterface {
  name = 'NonceDigests1766400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // RENAME COLUMN keeps the primary key on both PostgreSQL and SQLite (3.25+), without copying the table.
    await queryRunner.query('ALTER TABLE oid4vci_nonces RENAME COLUMN nonce TO nonce_hash');
    const rows = (await queryRunner.query('SELECT nonce_hash FROM oid4vci_nonces')) as { nonce_hash: string }[];
    const placeholder = (n: number) => (queryRunner.connection.driver.options.type === 'postgres' ? `$${n}` : '?');
    for (const { nonce_hash: clear } of rows) {
      await queryRunner.query(`UPDATE oid4vci_nonces SET nonce_hash = ${placeholder(1)} WHERE nonce_hash = ${placeholder(2)}`, [
        sha256Hex(clear),
        clear,
      ]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // A digest cannot be turned back into its nonce: the (short-lived) rows are dropped.
    await queryRunner.query('DELETE FROM oid4vci_nonces');
    await queryRunner.query('ALTER TABLE oid4vci_nonces RENAME COLUMN nonce_hash TO nonce');
  }
}
