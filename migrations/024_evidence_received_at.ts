import type { Knex } from 'knex';

/**
 * When Custos received an evidence item (issue 13), beside when its state was observed
 * (`collected_at`, which a file snapshot's `observed_at` sets, so an import can back-date it).
 * Set by the server in appendEvidence and covered by the item hash when present; items chained
 * before this migration keep NULL and their hashes, so the chain needs no rewrite (a rewrite would
 * break every checkpoint kept outside the database). The export flags items received after their
 * period ended.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evidence_items ADD COLUMN received_at timestamptz');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evidence_items DROP COLUMN received_at');
}
