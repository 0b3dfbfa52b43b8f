import type { QueryRunner } from 'typeorm';

/** The timestamp column type of the connected database (datetime on SQLite, timestamp on PostgreSQL). */
export const timestampType = (queryRunner: QueryRunner): string => queryRunner.connection.driver.normalizeType({ type: Date });
