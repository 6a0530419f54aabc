import type { Knex } from 'knex';

/**
 * Evidence bodies are stored as `json` (their canonical JSON text, validated and kept as written)
 * instead of `jsonb` (parsed into PostgreSQL's binary form on every insert).
 *
 * Why: nothing queries inside a body (every reader takes it whole, and verification re-canonicalises
 * it before hashing: src/evidence/chain.ts), but an evaluation's evidence is 19 MB of JSON in
 * bench:evaluate, and parsing it into jsonb was most of the evidence's time. Inserting the
 * benchmark's 12 bodies of one evaluation took 320 ms as jsonb and 185 ms as json on its database.
 * The text kept is what was hashed, byte for byte.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evidence_items ALTER COLUMN body TYPE json USING body::json');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE evidence_items ALTER COLUMN body TYPE jsonb USING body::jsonb');
}
