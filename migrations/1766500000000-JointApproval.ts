import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * Joint approval (issue 16, ADR 17): applications kept by the issuing department (content sealed, only
 * the salted digest on chain) and the timeline of each, one row per chain step (unique per step and
 * department, so replicas and the reconciler record a step once).
 */
export class JointApproval1766500000000 implements MigrationInterface {
  name = 'JointApproval1766500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'approval_applications',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'application_id', type: 'varchar', length: '66', isUnique: true },
          { name: 'agency_id', type: 'varchar', length: '36' },
          { name: 'type_id', type: 'varchar', length: '64' },
          { name: 'offer_id', type: 'varchar', length: '36' },
          { name: 'policy_id', type: 'varchar', length: '80' },
          { name: 'content_sealed', type: 'text' },
          { name: 'read_token_hash', type: 'varchar', length: '64' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'reason_codes', type: 'text' },
          { name: 'outbox_id', type: 'varchar', length: '36' },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
        ],
        indices: [
          { name: 'ix_approval_applications_state', columnNames: ['state'] },
          { name: 'ix_approval_applications_offer', columnNames: ['offer_id'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'approval_steps',
        columns: [
          { name: 'id', type: 'varchar', length: '160', isPrimary: true },
          { name: 'application_ref', type: 'varchar', length: '36' },
          { name: 'step', type: 'varchar', length: '16' },
          { name: 'department', type: 'varchar', length: '42', isNullable: true },
          { name: 'decision', type: 'varchar', length: '8', isNullable: true },
          { name: 'reason_code', type: 'varchar', length: '80', isNullable: true },
          { name: 'tx_hash', type: 'varchar', length: '66', isNullable: true },
          { name: 'block_number', type: 'integer', isNullable: true },
          { name: 'at', type: ts },
        ],
        indices: [{ name: 'ix_approval_steps_application', columnNames: ['application_ref'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_steps');
    await queryRunner.dropTable('approval_applications');
  }
}
