import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A refresh-token family remembers the client_id its grant was made to (null when the wallet named none, as in an
 * anonymous pre-authorized code flow): a refresh by another client is refused, and every access token of the family
 * carries it, against which a key proof's `iss` is checked (OID4VCI 1.0 Appendix F.1).
 */
export class RefreshTokenClient1768200000000 implements MigrationInterface {
  name = 'RefreshTokenClient1768200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'oid4vci_refresh_tokens',
      new TableColumn({ name: 'client_id', type: 'varchar', length: '1000', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('oid4vci_refresh_tokens', 'client_id');
  }
}
