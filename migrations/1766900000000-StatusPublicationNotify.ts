import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Performance round 5 (ADR 22): on PostgreSQL every change of `status_publications`, by any writer,
 * notifies `chancery_status_publications` with `list_id/purpose` (`*` for a TRUNCATE), so replicas may
 * keep the head of each list between verifications and drop it when told. SQLite: nothing (no notifications).
 */
export class StatusPublicationNotify1766900000000 implements MigrationInterface {
  name = 'StatusPublicationNotify1766900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE FUNCTION chancery_status_publications_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('chancery_status_publications', '*');
          RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
          PERFORM pg_notify('chancery_status_publications', OLD.list_id || '/' || OLD.purpose);
        END IF;
        IF TG_OP <> 'DELETE' THEN
          PERFORM pg_notify('chancery_status_publications', NEW.list_id || '/' || NEW.purpose);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER status_publications_notify AFTER INSERT OR UPDATE OR DELETE ON status_publications ' +
        'FOR EACH ROW EXECUTE FUNCTION chancery_status_publications_notify()',
    );
    await queryRunner.query(
      'CREATE TRIGGER status_publications_notify_truncate AFTER TRUNCATE ON status_publications ' +
        'FOR EACH STATEMENT EXECUTE FUNCTION chancery_status_publications_notify()',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query('DROP TRIGGER status_publications_notify_truncate ON status_publications');
    await queryRunner.query('DROP TRIGGER status_publications_notify ON status_publications');
    await queryRunner.query('DROP FUNCTION chancery_status_publications_notify()');
  }
}
