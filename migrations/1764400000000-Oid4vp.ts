import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/** OID4VP: registered relying parties and their presentation requests. */
export class Oid4vp1764400000000 implements MigrationInterface {
  name = 'Oid4vp1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'relying_parties',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'purpose', type: 'varchar', length: '500' },
          { name: 'allowed_claims', type: 'text' },
          { name: 'client_id_prefix', type: 'varchar', length: '32' },
          { name: 'signing_key_id', type: 'varchar', length: '36' },
          { name: 'certificate', type: 'text', isNullable: true },
          { name: 'webhook_url', type: 'varchar', length: '500', isNullable: true },
          { name: 'webhook_secret_sealed', type: 'text', isNullable: true },
          { name: 'api_key_prefix', type: 'varchar', length: '16' },
          { name: 'api_key_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ux_relying_parties_key_prefix', columnNames: ['api_key_prefix'], isUnique: true }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'presentation_requests',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'relying_party_id', type: 'varchar', length: '36' },
          { name: 'client_id', type: 'varchar', length: '1000' },
          { name: 'request_payload', type: 'text' },
          { name: 'request_object', type: 'text', isNullable: true },
          { name: 'state_hash', type: 'varchar', length: '64' },
          { name: 'encryption_key_sealed', type: 'text', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'result', type: 'text', isNullable: true },
          { name: 'view_token_hash', type: 'varchar', length: '64' },
          { name: 'expires_at', type: ts },
          { name: 'created_at', type: ts },
          { name: 'completed_at', type: ts, isNullable: true },
        ],
        indices: [{ name: 'ux_presentation_requests_state', columnNames: ['state_hash'], isUnique: true }],
        foreignKeys: [
          { columnNames: ['relying_party_id'], referencedTableName: 'relying_parties', referencedColumnNames: ['id'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('presentation_requests');
    await queryRunner.dropTable('relying_parties');
  }
}
