import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * The tamper-evident audit trail (issue 17, ADR 16): hash-chained entries, the single head row appends
 * serialise on, the ranges anchored on chain, and the holders' usage log keyed by credential fingerprint.
 */
export class AuditTrail1766300000000 implements MigrationInterface {
  name = 'AuditTrail1766300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'audit_entries',
        columns: [
          { name: 'seq', type: 'bigint', isPrimary: true },
          { name: 'at', type: 'varchar', length: '32' },
          { name: 'kind', type: 'varchar', length: '64' },
          { name: 'actor', type: 'varchar', length: '200' },
          { name: 'subject', type: 'varchar', length: '300' },
          { name: 'data', type: 'text' },
          { name: 'prev_hash', type: 'varchar', length: '64' },
          { name: 'entry_hash', type: 'varchar', length: '64' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_head',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'seq', type: 'bigint' },
          { name: 'entry_hash', type: 'varchar', length: '64' },
        ],
      }),
    );
    await queryRunner.query(`INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, 0, '${'0'.repeat(64)}')`);
    await queryRunner.createTable(
      new Table({
        name: 'audit_anchors',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'from_seq', type: 'bigint' },
          { name: 'to_seq', type: 'bigint' },
          { name: 'root', type: 'varchar', length: '66' },
          { name: 'department', type: 'varchar', length: '42' },
          { name: 'outbox_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'tx_hash', type: 'varchar', length: '66', isNullable: true },
          { name: 'block_number', type: 'integer', isNullable: true },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'ix_audit_anchors_range', columnNames: ['from_seq'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'credential_usage',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'presentation_request_id', type: 'varchar', length: '36' },
          { name: 'relying_party_id', type: 'varchar', length: '36' },
          { name: 'relying_party_name', type: 'varchar', length: '200' },
          { name: 'purpose', type: 'varchar', length: '500' },
          { name: 'claim_names', type: 'text' },
          { name: 'verified', type: 'boolean' },
          { name: 'audit_seq', type: 'bigint', isNullable: true },
          { name: 'verified_at', type: ts },
        ],
        indices: [
          { name: 'ix_credential_usage_fingerprint', columnNames: ['fingerprint'] },
          { name: 'ix_credential_usage_request', columnNames: ['presentation_request_id'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('credential_usage');
    await queryRunner.dropTable('audit_anchors');
    await queryRunner.dropTable('audit_head');
    await queryRunner.dropTable('audit_entries');
  }
}
