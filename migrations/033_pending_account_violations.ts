import type { Knex } from 'knex';

/**
 * Pending violations of account rules (src/evaluation/partition.ts): such a violation is about its
 * account's items of the rule's types together, not about one item, so it is kept by its account
 * (item_kind 'account', item_key the account id) and carried over while the rule's verdicts in that
 * account are reused.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluation_pending_violations DROP CONSTRAINT evaluation_pending_violations_item_kind_valid;
    ALTER TABLE evaluation_pending_violations ADD CONSTRAINT evaluation_pending_violations_item_kind_valid
      CHECK (item_kind IN ('resource', 'finding', 'permission', 'account'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM evaluation_pending_violations WHERE item_kind = 'account';
    ALTER TABLE evaluation_pending_violations DROP CONSTRAINT evaluation_pending_violations_item_kind_valid;
    ALTER TABLE evaluation_pending_violations ADD CONSTRAINT evaluation_pending_violations_item_kind_valid
      CHECK (item_kind IN ('resource', 'finding', 'permission'));
  `);
}
