import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose changes replicas hear, with the key each notification carries. */
const NOTIFIED = [
  { table: 'agencies', channel: 'chancery_agencies', key: 'id' },
  { table: 'agency_api_keys', channel: 'chancery_agency_api_keys', key: 'prefix' },
] as const;

/**
 * Performance round 6 (ADR 22, ADR 23): on PostgreSQL every change of `agencies` and `agency_api_keys`, by
 * any writer, notifies a channel with the row's key (`*` for a TRUNCATE), so replicas may remember API keys
 * between back-office requests and drop them when told. SQLite: nothing (its feed uses TEMP triggers).
 */
export class AgencyKeyNotify1767000000000 implements MigrationInterface {
  name = 'AgencyKeyNotify1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    for (const { table, channel, key } of NOTIFIED) {
      await queryRunner.query(`
        CREATE FUNCTION ${channel}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'TRUNCATE' THEN
            PERFORM pg_notify('${channel}', '*');
            RETURN NULL;
          END IF;
          IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('${channel}', OLD.${key});
          END IF;
          IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('${channel}', NEW.${key});
          END IF;
          RETURN NULL;
        END $$`);
      await queryRunner.query(
        `CREATE TRIGGER ${table}_notify AFTER INSERT OR UPDATE OR DELETE ON ${table} ` +
          `FOR EACH ROW EXECUTE FUNCTION ${channel}_notify()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_notify_truncate AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${channel}_notify()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    for (const { table, channel } of NOTIFIED) {
      await queryRunner.query(`DROP TRIGGER ${table}_notify_truncate ON ${table}`);
      await queryRunner.query(`DROP TRIGGER ${table}_notify ON ${table}`);
      await queryRunner.query(`DROP FUNCTION ${channel}_notify()`);
    }
  }
}
