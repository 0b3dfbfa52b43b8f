import type { ColumnOptions, QueryRunner, ValueTransformer } from 'typeorm';

/** The timestamp column type of the connected database (datetime on SQLite, timestamp on PostgreSQL). */
export const timestampType = (queryRunner: QueryRunner): string => queryRunner.connection.driver.normalizeType({ type: Date });

/**
 * A text column holding JSON, typed on the entity: services read and write `T`, never the text. The column
 * stays `text` on both databases (no schema change; PostgreSQL `json` would reorder nothing we rely on, but
 * SQLite has no such type). `null` stays `null`.
 */
export function jsonColumn<T>(options: Omit<ColumnOptions, 'type' | 'transformer'> = {}): ColumnOptions {
  const transformer: ValueTransformer = {
    to: (value: T | null | undefined) => (value === undefined ? undefined : value === null ? null : JSON.stringify(value)),
    from: (text: string | null) => (text === null || text === undefined ? null : (JSON.parse(text) as T)),
  };
  return { ...options, type: 'text', transformer };
}
