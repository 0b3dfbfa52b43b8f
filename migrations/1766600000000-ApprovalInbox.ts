import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * The deciding department's inbox (issue 16 leftover 4): a cursor per JointApproval contract (the block the
 * next scan of ApplicationSubmitted logs starts at; the first scan starts at the contract's deployment
 * block) and the submissions found whose policy requires this department, open until decided or closed.
 */
export class ApprovalInbox1766600000000 implements MigrationInterface {
  name = 'ApprovalInbox1766600000000';

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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_inbox');
    await queryRunner.dropTable('approval_inbox_cursors');
  }
}
