import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * Issue 16 leftovers. Wallet-started applications (3): a pushed authorization request for a type under a
 * joint-approval policy, waiting for the citizen's sign-in (the id is the offer id the application will get).
 * The deciding department's inbox (4): a cursor per JointApproval contract (the block the
 * next scan of ApplicationSubmitted logs starts at; the first scan starts at the contract's deployment
 * block) and the submissions found whose policy requires this department, open until decided or closed.
 */
export class JointApprovalLeftovers1766700000000 implements MigrationInterface {
  name = 'JointApprovalLeftovers1766700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'approval_inbox_cursors',
        columns: [
          { name: 'contract', type: 'varchar', length: '42', isPrimary: true },
          { name: 'next_block', type: 'integer' },
          { name: 'updated_at', type: ts },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'approval_inbox',
        columns: [
          { name: 'application_id', type: 'varchar', length: '66', isPrimary: true },
          { name: 'contract', type: 'varchar', length: '42' },
          { name: 'policy_id', type: 'varchar', length: '80' },
          { name: 'tx_hash', type: 'varchar', length: '66' },
          { name: 'block_number', type: 'integer' },
          { name: 'state', type: 'varchar', length: '8' },
          { name: 'found_at', type: ts },
        ],
        indices: [{ name: 'ix_approval_inbox_open', columnNames: ['contract', 'state', 'block_number'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'approval_wallet_requests',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'type_id', type: 'varchar', length: '64' },
          { name: 'configuration_ids', type: 'text' },
          { name: 'created_at', type: ts },
          { name: 'expires_at', type: ts },
        ],
        indices: [{ name: 'ix_approval_wallet_requests_expiry', columnNames: ['expires_at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_wallet_requests');
    await queryRunner.dropTable('approval_inbox');
    await queryRunner.dropTable('approval_inbox_cursors');
  }
}
