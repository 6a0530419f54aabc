import type { Knex } from 'knex';

/**
 * API keys can expire (`expires_at`), show when they were last used (`last_used_at`, written in
 * batches, not per request), and be rotated (`replaced_by`: the key that took over its name and role).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys
      ADD COLUMN expires_at timestamptz,
      ADD COLUMN last_used_at timestamptz,
      ADD COLUMN replaced_by uuid CONSTRAINT api_keys_replaced_by_ref REFERENCES api_keys (id),
      ADD CONSTRAINT api_keys_expires_after_creation CHECK (expires_at IS NULL OR expires_at > created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys
      DROP CONSTRAINT api_keys_expires_after_creation,
      DROP COLUMN replaced_by,
      DROP COLUMN last_used_at,
      DROP COLUMN expires_at;
  `);
}
