import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * RS256 ID tokens (OpenID Connect Core §15.1): the ID-token RSA key's SubjectPublicKeyInfo does not fit the
 * 140 hex digits an EC key needed, and each portal names the algorithm its ID tokens are signed with.
 */
export class RsaIdTokens1767700000000 implements MigrationInterface {
  name = 'RsaIdTokens1767700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await widenPublicKey(queryRunner, '1100');
    await queryRunner.addColumn(
      'oidc_clients',
      new TableColumn({ name: 'id_token_signed_response_alg', type: 'varchar', length: '8', default: "'ES256'" }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('oidc_clients', 'id_token_signed_response_alg');
    // The column stays wide: the RS256 key row every started deployment has would not fit 140 characters.
  }
}

/**
 * PostgreSQL: ALTER … TYPE keeps the values (TypeORM's changeColumn drops and re-adds a column whose length
 * changes, losing every key). SQLite: TypeORM rebuilds the table, copying the rows.
 */
async function widenPublicKey(queryRunner: QueryRunner, length: '1100'): Promise<void> {
  if (queryRunner.connection.options.type === 'postgres') {
    await queryRunner.query(`ALTER TABLE "keys" ALTER COLUMN "public_key_hex" TYPE varchar(${length})`);
    return;
  }
  await queryRunner.changeColumn('keys', 'public_key_hex', new TableColumn({ name: 'public_key_hex', type: 'varchar', length }));
}
