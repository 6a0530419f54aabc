import type { Knex } from 'knex';

/**
 * Data quality rules that run: a threshold and an optional cron per rule, the connections to the
 * stores they run against (credentials by reference only: a Secrets Manager ARN or an environment
 * variable's name, never the secret), runs with progress, and one result per rule and run.
 * Findings of data quality rules have no evaluation, so a finding's evaluation ids become optional.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE data_quality_rules DROP CONSTRAINT data_quality_rules_rule_type_valid;
    ALTER TABLE data_quality_rules ADD CONSTRAINT data_quality_rules_rule_type_valid
      CHECK (rule_type IN ('not_null', 'unique', 'range', 'regex', 'format', 'allowed_values', 'referential', 'freshness', 'row_count', 'custom_sql'));
    ALTER TABLE data_quality_rules ADD COLUMN threshold double precision NOT NULL DEFAULT 0
      CONSTRAINT data_quality_rules_threshold_range CHECK (threshold >= 0 AND threshold <= 1);
    ALTER TABLE data_quality_rules ADD COLUMN schedule text;
    ALTER TABLE data_quality_rules ADD COLUMN last_scheduled_at timestamptz;

    CREATE TABLE data_quality_connections (
      id uuid CONSTRAINT data_quality_connections_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT data_quality_connections_name_unique UNIQUE,
      store text NOT NULL CONSTRAINT data_quality_connections_store_valid CHECK (store IN ('aurora', 'dynamodb')),
      database text NOT NULL,
      settings jsonb NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- One connection per catalog database, so an asset's rules always run against the same store.
      CONSTRAINT data_quality_connections_database_unique UNIQUE (store, database)
    );

    CREATE TABLE data_quality_runs (
      id uuid CONSTRAINT data_quality_runs_pk PRIMARY KEY,
      status text NOT NULL CONSTRAINT data_quality_runs_status_valid CHECK (status IN ('queued', 'running', 'complete', 'partial', 'failed')),
      trigger text NOT NULL CONSTRAINT data_quality_runs_trigger_valid CHECK (trigger IN ('api', 'schedule', 'demo')),
      requested_by text NOT NULL,
      scope jsonb NOT NULL,
      rule_ids jsonb NOT NULL,
      rules_done integer NOT NULL DEFAULT 0,
      counts jsonb NOT NULL DEFAULT '{}',
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    );
    CREATE INDEX data_quality_runs_status_idx ON data_quality_runs (status, id);

    CREATE TABLE data_quality_results (
      id uuid CONSTRAINT data_quality_results_pk PRIMARY KEY,
      run_id uuid NOT NULL CONSTRAINT data_quality_results_run_fk REFERENCES data_quality_runs (id) ON DELETE CASCADE,
      rule_id uuid NOT NULL CONSTRAINT data_quality_results_rule_fk REFERENCES data_quality_rules (id) ON DELETE CASCADE,
      rule_type text NOT NULL,
      status text NOT NULL CONSTRAINT data_quality_results_status_valid CHECK (status IN ('passed', 'failed', 'not_tested', 'error')),
      complete boolean NOT NULL,
      rows_checked bigint NOT NULL DEFAULT 0,
      rows_failing bigint NOT NULL DEFAULT 0,
      ratio double precision,
      threshold double precision NOT NULL,
      observed jsonb NOT NULL DEFAULT '{}',
      samples jsonb NOT NULL DEFAULT '[]',
      error text,
      duration_ms integer NOT NULL,
      finding_id uuid CONSTRAINT data_quality_results_finding_fk REFERENCES findings (id),
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL,
      CONSTRAINT data_quality_results_run_rule_unique UNIQUE (run_id, rule_id)
    );
    CREATE INDEX data_quality_results_rule_idx ON data_quality_results (rule_id, id);

    ALTER TABLE findings ALTER COLUMN first_evaluation_id DROP NOT NULL;
    ALTER TABLE findings ALTER COLUMN last_evaluation_id DROP NOT NULL;
  `);
  await setEvidenceKinds(knex, (kinds) => [...new Set([...kinds, 'data_quality'])]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DELETE FROM findings WHERE first_evaluation_id IS NULL OR last_evaluation_id IS NULL`);
  await knex.raw(`
    ALTER TABLE findings ALTER COLUMN first_evaluation_id SET NOT NULL;
    ALTER TABLE findings ALTER COLUMN last_evaluation_id SET NOT NULL;
    DROP TABLE data_quality_results;
    DROP TABLE data_quality_runs;
    DROP TABLE data_quality_connections;
    ALTER TABLE data_quality_rules DROP COLUMN last_scheduled_at;
    ALTER TABLE data_quality_rules DROP COLUMN schedule;
    ALTER TABLE data_quality_rules DROP COLUMN threshold;
    UPDATE data_quality_rules SET rule_type = 'regex', definition = jsonb_build_object('pattern', definition->>'regex') WHERE rule_type = 'format' AND jsonb_exists(definition, 'regex');
    DELETE FROM data_quality_rules WHERE rule_type = 'format';
    ALTER TABLE data_quality_rules DROP CONSTRAINT data_quality_rules_rule_type_valid;
    ALTER TABLE data_quality_rules ADD CONSTRAINT data_quality_rules_rule_type_valid
      CHECK (rule_type IN ('not_null', 'unique', 'range', 'regex', 'allowed_values', 'referential', 'freshness', 'row_count', 'custom_sql'));
  `);
  await setEvidenceKinds(knex, (kinds) => kinds.filter((k) => k !== 'data_quality'));
}

/**
 * Evidence kinds are a CHECK constraint that other migrations extend too: this one reads the list in
 * force and adds (or removes) its own kind, so it never drops a kind another migration added.
 */
async function setEvidenceKinds(knex: Knex, change: (kinds: string[]) => string[]) {
  const { rows } = await knex.raw(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'evidence_items_kind_valid' AND conrelid = 'evidence_items'::regclass`,
  );
  const kinds = [...String(rows[0]?.def ?? '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
  const list = change(kinds).map((k) => `'${k.replace(/'/g, "''")}'`).join(', ');
  await knex.raw(`ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_kind_valid;
    ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_kind_valid CHECK (kind IN (${list}))`);
}
