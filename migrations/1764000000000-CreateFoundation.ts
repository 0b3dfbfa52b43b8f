import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/** Keys, outbox, deployed contracts, agencies and their API keys. Written once for SQLite and PostgreSQL. */
export class CreateFoundation1764000000000 implements MigrationInterface {
  name = 'CreateFoundation1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    const id = { name: 'id', type: 'varchar', length: '36', isPrimary: true };

    await queryRunner.createTable(
      new Table({
        name: 'keys',
        columns: [
          id,
          { name: 'algorithm', type: 'varchar', length: '16' },
          { name: 'purpose', type: 'varchar', length: '32' },
          { name: 'owner_ref', type: 'varchar', length: '64', isNullable: true },
          { name: 'public_key_hex', type: 'varchar', length: '140' },
          { name: 'address', type: 'varchar', length: '42', isNullable: true },
          { name: 'backend', type: 'varchar', length: '16' },
          { name: 'secret_ref', type: 'text' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_keys_owner', columnNames: ['owner_ref', 'purpose'] }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'outbox',
        columns: [
          id,
          { name: 'seq', type: 'bigint' },
          { name: 'chain_id', type: 'integer' },
          { name: 'signer_key_id', type: 'varchar', length: '36' },
          { name: 'to_address', type: 'varchar', length: '42', isNullable: true },
          { name: 'data', type: 'text' },
          { name: 'purpose', type: 'varchar', length: '64' },
          { name: 'ref', type: 'varchar', length: '128', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'nonce', type: 'integer', isNullable: true },
          { name: 'raw_tx', type: 'text', isNullable: true },
          { name: 'tx_hash', type: 'varchar', length: '66', isNullable: true },
          { name: 'block_number', type: 'integer', isNullable: true },
          { name: 'gas_used', type: 'integer', isNullable: true },
          { name: 'contract_address', type: 'varchar', length: '42', isNullable: true },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'last_error', type: 'text', isNullable: true },
          { name: 'lease_until', type: ts, isNullable: true },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
          { name: 'mined_at', type: ts, isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndices('outbox', [
      new TableIndex({ name: 'ix_outbox_status', columnNames: ['chain_id', 'status'] }),
      new TableIndex({ name: 'ix_outbox_signer_nonce', columnNames: ['signer_key_id', 'nonce'] }),
      new TableIndex({ name: 'ix_outbox_ref', columnNames: ['ref'] }),
    ]);

    await queryRunner.createTable(
      new Table({
        name: 'chain_contracts',
        columns: [
          { name: 'chain_id', type: 'integer', isPrimary: true },
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'address', type: 'varchar', length: '42' },
          { name: 'outbox_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'created_at', type: ts },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'agencies',
        columns: [
          id,
          { name: 'slug', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'did', type: 'varchar', length: '120' },
          { name: 'controller_key_id', type: 'varchar', length: '36' },
          { name: 'signing_key_id', type: 'varchar', length: '36' },
          { name: 'signing_kid', type: 'varchar', length: '200', isNullable: true },
          { name: 'service_endpoint', type: 'varchar', length: '500' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ux_agencies_slug', columnNames: ['slug'], isUnique: true }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'agency_api_keys',
        columns: [
          id,
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'prefix', type: 'varchar', length: '32' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'label', type: 'varchar', length: '100' },
          { name: 'created_at', type: ts },
          { name: 'revoked_at', type: ts, isNullable: true },
        ],
        indices: [{ name: 'ux_agency_api_keys_prefix', columnNames: ['prefix'], isUnique: true }],
        foreignKeys: [{ columnNames: ['agency_id'], referencedTableName: 'agencies', referencedColumnNames: ['id'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['agency_api_keys', 'agencies', 'chain_contracts', 'outbox', 'keys']) {
      await queryRunner.dropTable(table);
    }
  }
}
