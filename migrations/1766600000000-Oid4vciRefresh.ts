import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { timestampType } from '../src/persistence/columns.js';

/**
 * OID4VCI refresh tokens and re-delivery of deferred credentials (ADR 18): refresh-token families stored
 * as digests (rotation, reuse detection, DPoP binding, absolute expiry), and on each deferred request the
 * sealed response kept for re-delivery to the same holder until the wallet notifies or the window closes.
 */
export class Oid4vciRefresh1766600000000 implements MigrationInterface {
  name = 'Oid4vciRefresh1766600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ts = timestampType(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'oid4vci_refresh_tokens',
        columns: [
          { name: 'token_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'family_id', type: 'varchar', length: '36' },
          { name: 'offer_id', type: 'varchar', length: '36' },
          { name: 'dpop_jkt', type: 'varchar', length: '64', isNullable: true },
          { name: 'credential_identifiers', type: 'text', isNullable: true },
          { name: 'previous_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'expires_at', type: ts },
          { name: 'created_at', type: ts },
        ],
        indices: [
          { name: 'ix_oid4vci_refresh_tokens_family', columnNames: ['family_id'] },
          { name: 'ix_oid4vci_refresh_tokens_expiry', columnNames: ['expires_at'] },
          { name: 'ix_oid4vci_refresh_tokens_previous', columnNames: ['previous_hash'] },
        ],
      }),
    );
    await queryRunner.addColumns('deferred_requests', [
      new TableColumn({ name: 'response_sealed', type: 'text', isNullable: true }),
      new TableColumn({ name: 'notification_id', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'redeliver_until', type: ts, isNullable: true }),
      new TableColumn({ name: 'holder_jkt', type: 'varchar', length: '64', isNullable: true }),
    ]);
    await queryRunner.createIndex(
      'deferred_requests',
      new TableIndex({ name: 'ix_deferred_requests_notification', columnNames: ['notification_id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('deferred_requests', 'ix_deferred_requests_notification');
    for (const column of ['holder_jkt', 'redeliver_until', 'notification_id', 'response_sealed'])
      await queryRunner.dropColumn('deferred_requests', column);
    await queryRunner.dropTable('oid4vci_refresh_tokens');
  }
}
