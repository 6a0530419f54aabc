import type { Knex } from 'knex';

/**
 * Separation of duties across key issuance: `api_keys.created_by_subject` is the subject of whoever
 * created the key (or rotated it: the new key is shown to the rotator), i.e. who has seen the key
 * itself. Four-eyes checks treat a key's subject and the subjects that issued its keys, directly or
 * through keys they issued, as one person (src/auth/identity.ts), so an admin cannot approve their
 * own change with a key they made for "someone else". NULL: issued by no subject known to Custos
 * (the bootstrap key; keys whose creation the audit log does not name).
 *
 * Existing keys get the subject their create or rotate audit row names (`actor_subject`, else the
 * `key:<id>` of the key that made it); system actors (bootstrap) name no person.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys
      ADD COLUMN created_by_subject text,
      ADD CONSTRAINT api_keys_created_by_subject_length CHECK (char_length(created_by_subject) BETWEEN 1 AND 200);
    CREATE INDEX api_keys_created_by_subject_idx ON api_keys (created_by_subject) WHERE created_by_subject IS NOT NULL;

    UPDATE api_keys k SET created_by_subject = issued.subject
      FROM (
        SELECT DISTINCT ON (key_id) key_id, subject FROM (
          SELECT entity_id AS key_id, coalesce(actor_subject, 'key:' || actor_key_id) AS subject, id
            FROM audit_log WHERE entity = 'api-keys' AND action = 'create'
          UNION ALL
          SELECT new_value->>'replaced_by', coalesce(actor_subject, 'key:' || actor_key_id), id
            FROM audit_log WHERE entity = 'api-keys' AND action = 'rotate' AND new_value->>'replaced_by' IS NOT NULL
        ) rows
        WHERE subject IS NOT NULL AND subject NOT LIKE 'system:%'
        ORDER BY key_id, id
      ) issued
     WHERE issued.key_id = k.id::text;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX api_keys_created_by_subject_idx;
    ALTER TABLE api_keys DROP CONSTRAINT api_keys_created_by_subject_length, DROP COLUMN created_by_subject;
  `);
}
