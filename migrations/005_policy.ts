import type { Knex } from 'knex';

/** Versioned policy bundles (one active) and the append-only log of policy decisions. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE policy_bundles (
      id uuid CONSTRAINT policy_bundles_pk PRIMARY KEY,
      revision text NOT NULL,
      sha256 text NOT NULL CONSTRAINT policy_bundles_sha256_unique UNIQUE,
      archive bytea NOT NULL,
      size_bytes integer NOT NULL,
      entrypoints jsonb NOT NULL,
      rules jsonb NOT NULL,
      uploaded_by text NOT NULL,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      active boolean NOT NULL DEFAULT false,
      activated_at timestamptz,
      activated_by text
    );
    CREATE UNIQUE INDEX policy_bundles_one_active ON policy_bundles (active) WHERE active;

    CREATE TABLE decision_log (
      id uuid CONSTRAINT decision_log_pk PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      entrypoint text NOT NULL,
      input jsonb NOT NULL,
      result jsonb,
      defined boolean NOT NULL,
      error text,
      bundle_id uuid CONSTRAINT decision_log_bundle_fk REFERENCES policy_bundles (id) ON DELETE RESTRICT,
      bundle_revision text,
      actor text NOT NULL,
      actor_key_id uuid,
      role text NOT NULL,
      request_id text,
      duration_ms double precision NOT NULL
    );
    CREATE INDEX decision_log_at_idx ON decision_log (at);
    CREATE INDEX decision_log_bundle_idx ON decision_log (bundle_revision, id);

    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER decision_log_no_update_or_delete BEFORE UPDATE OR DELETE ON decision_log
      FOR EACH ROW EXECUTE FUNCTION refuse_change();
    CREATE TRIGGER decision_log_no_truncate BEFORE TRUNCATE ON decision_log
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE decision_log;
    DROP FUNCTION refuse_change();
    DROP TABLE policy_bundles;
  `);
}
