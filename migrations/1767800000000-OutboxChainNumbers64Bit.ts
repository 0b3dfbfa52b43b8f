import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An outbox row's block number, gas used and block timestamp as 64-bit integers: a 32-bit `integer` stops
 * taking block times on 19 January 2038 (the write is mined, its row cannot record it, and the worker retries
 * it for ever), and a consortium chain may run a gas limit or a block count past 2^31.
 *
 * PostgreSQL only, by ALTER … TYPE, which keeps the values. SQLite stores every INTEGER column in up to 8 bytes
 * already; its declared type stays as it is rather than rebuilding the table.
 */
export class OutboxChainNumbers64Bit1767800000000 implements MigrationInterface {
  name = 'OutboxChainNumbers64Bit1767800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(
      `ALTER TABLE "outbox" ALTER COLUMN "block_number" TYPE bigint, ALTER COLUMN "gas_used" TYPE bigint,
         ALTER COLUMN "block_timestamp" TYPE bigint`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    // Refused by PostgreSQL when a value no longer fits: nothing is cut short.
    await queryRunner.query(
      `ALTER TABLE "outbox" ALTER COLUMN "block_number" TYPE integer, ALTER COLUMN "gas_used" TYPE integer,
         ALTER COLUMN "block_timestamp" TYPE integer`,
    );
  }
}
