import type { Knex } from 'knex';

/**
 * Coverage-scoped truth (issue 11). `run_coverage`: what each collection run observed, per account,
 * region, service and resource type, and whether that listing was complete; an evaluation resolves a
 * finding only where a complete listing of its type did not report it. `evaluations.rule_coverage`:
 * per rule, whether the evaluation tested it (and why not). `evaluation_findings.reported`: false for
 * findings still open that the evaluation did not see (carried), so a control's status at an
 * evaluation counts every finding open at that time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE run_coverage (
      run_id uuid NOT NULL CONSTRAINT run_coverage_run_fk REFERENCES collection_runs (id) ON DELETE CASCADE,
      account text NOT NULL,
      region text NOT NULL,
      service text NOT NULL,
      resource_type text NOT NULL,
      complete boolean NOT NULL,
      reason text,
      CONSTRAINT run_coverage_pk PRIMARY KEY (run_id, account, region, resource_type, service),
      CONSTRAINT run_coverage_reason_when_incomplete CHECK (complete OR reason IS NOT NULL)
    );
    ALTER TABLE evaluations ADD COLUMN rule_coverage jsonb;
    ALTER TABLE evaluation_findings ADD COLUMN reported boolean NOT NULL DEFAULT true;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluation_findings DROP COLUMN reported;
    ALTER TABLE evaluations DROP COLUMN rule_coverage;
    DROP TABLE run_coverage;
  `);
}
