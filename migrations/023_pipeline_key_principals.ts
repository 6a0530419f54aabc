import type { Knex } from 'knex';

/**
 * A pipeline key may be bound to the principals it asks access decisions about (issue 13): with
 * `principals` set, a decision about any other principal is refused (403), so a key cannot
 * enumerate the catalog through principals it does not serve. NULL: unbound (keys made before this
 * migration, and pipeline keys created without a list), listed as such for access reviews.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys
      ADD COLUMN principals text[],
      ADD CONSTRAINT api_keys_principals_pipeline_only CHECK (principals IS NULL OR role = 'pipeline'),
      ADD CONSTRAINT api_keys_principals_bounded CHECK (principals IS NULL OR cardinality(principals) BETWEEN 1 AND 1000);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys
      DROP CONSTRAINT api_keys_principals_bounded,
      DROP CONSTRAINT api_keys_principals_pipeline_only,
      DROP COLUMN principals;
  `);
}
