import type { Knex } from 'knex';

/**
 * Incremental evaluation (src/evaluation/partition.ts): each run item's SHA-256 of its normalised
 * state (the jsonb text), so an evaluation can tell which items are unchanged since the previous
 * one; per evaluation, how it was evaluated (`whole`, `parts`, `incremental`) and the SHA-256 of
 * each shared part of its input (now, catalog, ...) that reused verdicts must match.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE run_items ADD COLUMN state_sha256 bytea;
    ALTER TABLE evaluations
      ADD COLUMN mode text CONSTRAINT evaluations_mode_valid CHECK (mode IN ('whole', 'parts', 'incremental')),
      ADD COLUMN input_sha256 jsonb;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluations DROP COLUMN input_sha256, DROP COLUMN mode;
    ALTER TABLE run_items DROP COLUMN state_sha256;
  `);
}
