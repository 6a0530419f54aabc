import type { Knex } from 'knex';

/**
 * Violations that begin later (`violates_after`, src/evaluation/time-bound.ts): per evaluation, the
 * ones reported by its rules that did not hold yet at its `now`, with the item they are about. The
 * next incremental evaluation carries those of unchanged items over and reports each once its own
 * `now` is past `violates_after`, without judging the item again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE evaluation_pending_violations (
      evaluation_id uuid NOT NULL CONSTRAINT evaluation_pending_violations_evaluation_fk REFERENCES evaluations (id) ON DELETE CASCADE,
      rule_id text NOT NULL,
      resource_type text NOT NULL,
      item_kind text NOT NULL CONSTRAINT evaluation_pending_violations_item_kind_valid CHECK (item_kind IN ('resource', 'finding', 'permission')),
      item_key text NOT NULL,
      violates_after double precision NOT NULL,
      -- The violation as the rule reported it, without its rule's metadata (the bundle revision's, by rule_id).
      violation jsonb NOT NULL
    );
    CREATE INDEX evaluation_pending_violations_evaluation ON evaluation_pending_violations (evaluation_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE evaluation_pending_violations');
}
