import type { Knex } from 'knex';

/**
 * AWS sources, collection runs and what each run saw (run_items: one keyed row per resource,
 * finding, permission or setting, so any past run can be read back and two runs diffed), and the
 * evaluations of runs into findings with an open/resolved lifecycle.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sources (
      id uuid CONSTRAINT sources_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT sources_name_unique UNIQUE,
      account_id text NOT NULL CONSTRAINT sources_account_id_format CHECK (account_id ~ '^[0-9]{12}$'),
      region text NOT NULL,
      role_arn text CONSTRAINT sources_role_arn_format CHECK (role_arn ~ '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$'),
      services jsonb NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT sources_target_unique UNIQUE (account_id, region)
    );

    CREATE TABLE collection_runs (
      id uuid CONSTRAINT collection_runs_pk PRIMARY KEY,
      status text NOT NULL CONSTRAINT collection_runs_status_valid
        CHECK (status IN ('queued', 'running', 'complete', 'partial', 'failed')),
      trigger text NOT NULL CONSTRAINT collection_runs_trigger_valid CHECK (trigger IN ('api', 'schedule', 'file', 'demo')),
      requested_by text NOT NULL,
      source_ids jsonb NOT NULL DEFAULT '[]',
      since bigint,
      progress jsonb NOT NULL DEFAULT '{"done": 0, "total": 0}',
      counts jsonb NOT NULL DEFAULT '{}',
      gaps jsonb NOT NULL DEFAULT '[]',
      error text,
      observed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    );
    CREATE INDEX collection_runs_status_idx ON collection_runs (status, id);

    CREATE TABLE run_items (
      run_id uuid NOT NULL CONSTRAINT run_items_run_fk REFERENCES collection_runs (id) ON DELETE CASCADE,
      kind text NOT NULL CONSTRAINT run_items_kind_valid CHECK (kind IN ('resource', 'finding', 'permission', 'setting')),
      key text NOT NULL,
      type text NOT NULL,
      account text NOT NULL,
      region text NOT NULL,
      data jsonb NOT NULL,
      hash text NOT NULL,
      CONSTRAINT run_items_pk PRIMARY KEY (run_id, kind, key)
    );
    CREATE INDEX run_items_type_idx ON run_items (run_id, kind, type, key);

    CREATE TABLE evaluations (
      id uuid CONSTRAINT evaluations_pk PRIMARY KEY,
      run_id uuid NOT NULL CONSTRAINT evaluations_run_fk REFERENCES collection_runs (id) ON DELETE RESTRICT,
      status text NOT NULL CONSTRAINT evaluations_status_valid CHECK (status IN ('queued', 'running', 'complete', 'failed')),
      trigger text NOT NULL CONSTRAINT evaluations_trigger_valid CHECK (trigger IN ('api', 'collection', 'schedule', 'demo')),
      requested_by text NOT NULL,
      bundle_id uuid CONSTRAINT evaluations_bundle_fk REFERENCES policy_bundles (id) ON DELETE RESTRICT,
      bundle_revision text,
      catalog_sha256 text,
      run_partial boolean,
      counts jsonb NOT NULL DEFAULT '{}',
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    );
    CREATE INDEX evaluations_run_idx ON evaluations (run_id, id);

    CREATE TABLE findings (
      id uuid CONSTRAINT findings_pk PRIMARY KEY,
      fingerprint text NOT NULL CONSTRAINT findings_fingerprint_unique UNIQUE,
      rule_id text NOT NULL,
      severity text NOT NULL,
      controls jsonb NOT NULL,
      msg text NOT NULL,
      rule jsonb NOT NULL,
      resource_type text NOT NULL,
      resource_id text NOT NULL,
      account text NOT NULL,
      region text NOT NULL,
      status text NOT NULL CONSTRAINT findings_status_valid CHECK (status IN ('open', 'resolved')),
      first_seen_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      resolved_at timestamptz,
      first_evaluation_id uuid NOT NULL CONSTRAINT findings_first_evaluation_fk REFERENCES evaluations (id),
      last_evaluation_id uuid NOT NULL CONSTRAINT findings_last_evaluation_fk REFERENCES evaluations (id)
    );
    CREATE INDEX findings_status_idx ON findings (status, id);
    CREATE INDEX findings_rule_idx ON findings (rule_id, id);
    CREATE INDEX findings_controls_idx ON findings USING gin (controls);

    CREATE TABLE evaluation_findings (
      evaluation_id uuid NOT NULL CONSTRAINT evaluation_findings_evaluation_fk REFERENCES evaluations (id) ON DELETE CASCADE,
      finding_id uuid NOT NULL CONSTRAINT evaluation_findings_finding_fk REFERENCES findings (id) ON DELETE CASCADE,
      CONSTRAINT evaluation_findings_pk PRIMARY KEY (evaluation_id, finding_id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE evaluation_findings;
    DROP TABLE findings;
    DROP TABLE evaluations;
    DROP TABLE run_items;
    DROP TABLE collection_runs;
    DROP TABLE sources;
  `);
}
