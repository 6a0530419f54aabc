import type { Knex } from 'knex';

/**
 * Remediation: a plan made from findings (one row per resource with the before/after of its
 * configuration, read from AWS when planned), its approvals (four-eyes, expiring), and every step
 * taken against AWS with an idempotency key, so a retried or resumed job never applies a step twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE remediations (
      id uuid CONSTRAINT remediations_pk PRIMARY KEY,
      action text NOT NULL,
      risk text NOT NULL CONSTRAINT remediations_risk_valid CHECK (risk IN ('low', 'high')),
      params jsonb NOT NULL DEFAULT '{}',
      rule_id text NOT NULL,
      controls jsonb NOT NULL DEFAULT '[]',
      status text NOT NULL CONSTRAINT remediations_status_valid
        CHECK (status IN ('dry_run', 'approved', 'executing', 'applied', 'partially_applied', 'failed', 'verified', 'rolling_back', 'rolled_back', 'rollback_failed')),
      trigger text NOT NULL CONSTRAINT remediations_trigger_valid CHECK (trigger IN ('api', 'auto')),
      requester text NOT NULL,
      requester_key_id uuid,
      approval_required boolean NOT NULL,
      last_error text,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX remediations_status_idx ON remediations (status, id);

    CREATE TABLE remediation_resources (
      id uuid CONSTRAINT remediation_resources_pk PRIMARY KEY,
      remediation_id uuid NOT NULL CONSTRAINT remediation_resources_remediation_fk REFERENCES remediations (id) ON DELETE CASCADE,
      position integer NOT NULL,
      finding_id uuid NOT NULL CONSTRAINT remediation_resources_finding_fk REFERENCES findings (id) ON DELETE RESTRICT,
      source_id uuid NOT NULL CONSTRAINT remediation_resources_source_fk REFERENCES sources (id) ON DELETE RESTRICT,
      resource_type text NOT NULL,
      resource_id text NOT NULL,
      account text NOT NULL,
      region text NOT NULL,
      before jsonb NOT NULL,
      after jsonb NOT NULL,
      status text NOT NULL CONSTRAINT remediation_resources_status_valid
        CHECK (status IN ('planned', 'applying', 'applied', 'failed', 'verified', 'verify_failed', 'rolling_back', 'rolled_back', 'rollback_failed')),
      error text,
      aws_request_ids jsonb NOT NULL DEFAULT '[]',
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT remediation_resources_position_unique UNIQUE (remediation_id, position),
      CONSTRAINT remediation_resources_finding_unique UNIQUE (remediation_id, finding_id)
    );
    CREATE INDEX remediation_resources_finding_idx ON remediation_resources (finding_id);

    CREATE TABLE remediation_approvals (
      id uuid CONSTRAINT remediation_approvals_pk PRIMARY KEY,
      remediation_id uuid NOT NULL CONSTRAINT remediation_approvals_remediation_fk REFERENCES remediations (id) ON DELETE CASCADE,
      approver text NOT NULL,
      approver_key_id uuid,
      role text NOT NULL,
      comment text,
      approved_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      CONSTRAINT remediation_approvals_expiry_order CHECK (expires_at > approved_at)
    );
    CREATE INDEX remediation_approvals_remediation_idx ON remediation_approvals (remediation_id, approved_at);

    CREATE TABLE remediation_steps (
      id uuid CONSTRAINT remediation_steps_pk PRIMARY KEY,
      remediation_id uuid NOT NULL CONSTRAINT remediation_steps_remediation_fk REFERENCES remediations (id) ON DELETE CASCADE,
      resource_row_id uuid NOT NULL CONSTRAINT remediation_steps_resource_fk REFERENCES remediation_resources (id) ON DELETE CASCADE,
      step text NOT NULL CONSTRAINT remediation_steps_step_valid CHECK (step IN ('apply', 'verify', 'finalize', 'rollback')),
      idempotency_key text NOT NULL CONSTRAINT remediation_steps_idempotency_key_unique UNIQUE,
      status text NOT NULL CONSTRAINT remediation_steps_status_valid CHECK (status IN ('started', 'succeeded', 'failed')),
      attempts integer NOT NULL DEFAULT 1,
      request_ids jsonb NOT NULL DEFAULT '[]',
      confirmed_on_resume boolean NOT NULL DEFAULT false,
      error text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX remediation_steps_remediation_idx ON remediation_steps (remediation_id, started_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE remediation_steps;
    DROP TABLE remediation_approvals;
    DROP TABLE remediation_resources;
    DROP TABLE remediations;
  `);
}
