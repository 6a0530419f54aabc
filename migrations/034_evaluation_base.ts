import type { Knex } from 'knex';

/**
 * The evaluation an incremental evaluation compares against (src/evaluation/evaluate.ts,
 * `evaluationBase`), recorded when it is chosen. Pending violations (migration 029) are read only
 * from a base, so a finished evaluation drops those of every evaluation that is neither itself nor
 * the recorded base of one still queued or running: the table no longer grows with every evaluation.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluations ADD COLUMN base_evaluation_id uuid CONSTRAINT evaluations_base_fk REFERENCES evaluations (id);
    CREATE INDEX evaluations_base_of_unfinished ON evaluations (base_evaluation_id) WHERE status IN ('queued', 'running');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evaluations DROP COLUMN base_evaluation_id');
}
