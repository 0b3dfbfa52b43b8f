import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * On PostgreSQL every change of `agency_authorisations`, by any writer, notifies
 * `chancery_agency_authorisations` with `agency_id:type_id` (`*` for a TRUNCATE), so a replica that
 * remembers an authorisation as active drops it as soon as another replica queues its withdrawal
 * (before, it went on issuing until the withdrawal was mined or 30 s passed). SQLite: nothing (its feed
 * uses TEMP triggers and `PRAGMA data_version`).
 */
export class AuthorisationNotify1767600000000 implements MigrationInterface {
  name = 'AuthorisationNotify1767600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE FUNCTION chancery_agency_authorisations_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('chancery_agency_authorisations', '*');
          RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
          PERFORM pg_notify('chancery_agency_authorisations', OLD.agency_id || ':' || OLD.type_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM pg_notify('chancery_agency_authorisations', NEW.agency_id || ':' || NEW.type_id);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER agency_authorisations_notify AFTER INSERT OR UPDATE OR DELETE ON agency_authorisations ' +
        'FOR EACH ROW EXECUTE FUNCTION chancery_agency_authorisations_notify()',
    );
    await queryRunner.query(
      'CREATE TRIGGER agency_authorisations_notify_truncate AFTER TRUNCATE ON agency_authorisations ' +
        'FOR EACH STATEMENT EXECUTE FUNCTION chancery_agency_authorisations_notify()',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('DROP TRIGGER agency_authorisations_notify_truncate ON agency_authorisations');
    await queryRunner.query('DROP TRIGGER agency_authorisations_notify ON agency_authorisations');
    await queryRunner.query('DROP FUNCTION chancery_agency_authorisations_notify()');
  }
}
