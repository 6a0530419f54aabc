import type { Knex } from 'knex';

/**
 * Room on each page of `findings` for updates in place. Every evaluation rewrites the findings it
 * reports (`last_seen_at`, `last_evaluation_id`: an incremental one in a single statement over every
 * finding it carries over, src/evaluation/findings-repository.ts reuseFindings); none of those columns
 * is indexed, so with free space on the page PostgreSQL updates the row there (a HOT update) instead
 * of writing a new entry into every index, the GIN index of controls included. Pages written from now
 * on keep 30% free; existing ones gain it when rewritten.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE findings SET (fillfactor = 70)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE findings RESET (fillfactor)');
}
