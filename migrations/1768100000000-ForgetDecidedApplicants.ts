import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A decided joint-approval application keeps neither its applicant's keyed hash (it bars only a second pending
 * application; kept, it links a citizen's applications over the years) nor its content (ADR 46): those of applications
 * decided before this change are forgotten too. The empty string is the erased content's mark.
 */
export class ForgetDecidedApplicants1768100000000 implements MigrationInterface {
  name = 'ForgetDecidedApplicants1768100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "UPDATE approval_applications SET applicant_hash = NULL, content_sealed = '' " +
        "WHERE state <> 'pending' AND (applicant_hash IS NOT NULL OR content_sealed <> '')",
    );
  }

  async down(): Promise<void> {
    // What was forgotten cannot be restored.
  }
}
