import type { Knex } from 'knex';

/** API keys and the append-only audit log. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id uuid CONSTRAINT api_keys_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
      role text NOT NULL CONSTRAINT api_keys_role_valid
        CHECK (role IN ('admin', 'steward', 'compliance_officer', 'auditor', 'pipeline')),
      key_hash text NOT NULL CONSTRAINT api_keys_key_hash_unique UNIQUE,
      key_prefix text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by text NOT NULL,
      revoked_at timestamptz,
      revoked_by text
    );
    CREATE UNIQUE INDEX api_keys_active_name_unique ON api_keys (name) WHERE revoked_at IS NULL;

    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_log_pk PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      actor text NOT NULL,
      actor_key_id uuid,
      role text NOT NULL,
      action text NOT NULL,
      entity text NOT NULL,
      entity_id text NOT NULL,
      old_value jsonb,
      new_value jsonb,
      client_ip text,
      request_id text
    );
    CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);
    CREATE INDEX audit_log_at_idx ON audit_log (at);

    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_refuse_change();
    DROP TABLE api_keys;
  `);
}
