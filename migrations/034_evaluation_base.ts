import type { Knex } from 'knex';

/**
 * The evaluation an incremental evaluation compares against (src/evaluation/evaluate.ts,
 * `evaluationBase`), recorded when it is chosen. Pending violations (migration 029) are read only
 * from a base, so a finished evaluation drops those of every evaluation that is neither itself nor
 * the recorded base of one still queued or running: the table no longer grows with every evaluation.
 *
 * The rows kept so far are emptied here, not by the first evaluation after the upgrade (one DELETE
 * of every evaluation's rows, in its transaction, holding the lock that catalog evaluations and base
 * choices wait for). Dropping them loses nothing: they belong to evaluations made by older code,
 * whose input hashes do not record what they kept (`KEPT`, src/evaluation/partition.ts), and such a
 * base lends no verdicts, so its pending violations are never read.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluations ADD COLUMN base_evaluation_id uuid CONSTRAINT evaluations_base_fk REFERENCES evaluations (id);
    CREATE INDEX evaluations_base_of_unfinished ON evaluations (base_evaluation_id) WHERE status IN ('queued', 'running');
    TRUNCATE evaluation_pending_violations;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evaluations DROP COLUMN base_evaluation_id');
}
