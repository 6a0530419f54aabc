import type { Knex } from 'knex';

/**
 * Fresh verdicts (issue 11): a committed catalog change re-evaluates the catalog rules at once.
 * `catalog_evaluation_requests`: one row per committed change, written in the change's own
 * transaction, so a change whose process dies before evaluating it is still evaluated (by the sweep);
 * the catalog evaluation deletes the rows it covered. `evaluations.trigger` gains `catalog`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE catalog_evaluation_requests (
      id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT catalog_evaluation_requests_pk PRIMARY KEY,
      entity text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE evaluations DROP CONSTRAINT evaluations_trigger_valid;
    ALTER TABLE evaluations ADD CONSTRAINT evaluations_trigger_valid CHECK (trigger IN ('api', 'collection', 'schedule', 'demo', 'catalog'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Findings refer to catalog evaluations, so they stay, recorded as the scheduled work they were.
    ALTER TABLE evaluations DROP CONSTRAINT evaluations_trigger_valid;
    UPDATE evaluations SET trigger = 'schedule' WHERE trigger = 'catalog';
    ALTER TABLE evaluations ADD CONSTRAINT evaluations_trigger_valid CHECK (trigger IN ('api', 'collection', 'schedule', 'demo'));
    DROP TABLE catalog_evaluation_requests;
  `);
}
