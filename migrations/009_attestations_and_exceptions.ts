import type { Knex } from 'knex';

/**
 * Manual-control attestations with their files, exceptions to findings (four-eyes approved, with an
 * expiry), and two changes to evidence items: more kinds (collection runs, exceptions) and bodies
 * that may live in S3 instead of PostgreSQL (then `body` is NULL and `body_store` says where).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE attestations (
      id uuid CONSTRAINT attestations_pk PRIMARY KEY,
      control_id text NOT NULL,
      statement text NOT NULL CONSTRAINT attestations_statement_length CHECK (length(statement) BETWEEN 1 AND 20000),
      period_from timestamptz,
      period_to timestamptz,
      attested_by text NOT NULL,
      attested_at timestamptz NOT NULL DEFAULT now(),
      evidence_item_id uuid NOT NULL CONSTRAINT attestations_evidence_fk REFERENCES evidence_items (id),
      CONSTRAINT attestations_period_order CHECK (period_from IS NULL OR period_to IS NULL OR period_from <= period_to)
    );
    CREATE INDEX attestations_control_idx ON attestations (control_id, attested_at);

    CREATE TABLE attestation_files (
      id uuid CONSTRAINT attestation_files_pk PRIMARY KEY,
      attestation_id uuid NOT NULL CONSTRAINT attestation_files_attestation_fk REFERENCES attestations (id),
      filename text NOT NULL CONSTRAINT attestation_files_filename_format CHECK (filename ~ '^[A-Za-z0-9._ -]{1,200}$'),
      media_type text NOT NULL,
      size_bytes integer NOT NULL CONSTRAINT attestation_files_size_positive CHECK (size_bytes >= 0),
      sha256 text NOT NULL CONSTRAINT attestation_files_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      content bytea NOT NULL,
      CONSTRAINT attestation_files_name_unique UNIQUE (attestation_id, filename)
    );
    CREATE TRIGGER attestations_no_update_or_delete BEFORE UPDATE OR DELETE ON attestations
      FOR EACH ROW EXECUTE FUNCTION refuse_change();
    CREATE TRIGGER attestation_files_no_update_or_delete BEFORE UPDATE OR DELETE ON attestation_files
      FOR EACH ROW EXECUTE FUNCTION refuse_change();

    CREATE TABLE exceptions (
      id uuid CONSTRAINT exceptions_pk PRIMARY KEY,
      status text NOT NULL CONSTRAINT exceptions_status_valid
        CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'revoked')),
      finding_id uuid CONSTRAINT exceptions_finding_fk REFERENCES findings (id),
      rule_id text NOT NULL,
      resource_pattern text NOT NULL DEFAULT '*',
      account text,
      region text,
      justification text NOT NULL CONSTRAINT exceptions_justification_length CHECK (length(justification) BETWEEN 10 AND 5000),
      compensating_control text NOT NULL CONSTRAINT exceptions_compensating_control_length CHECK (length(compensating_control) BETWEEN 1 AND 5000),
      expires_at timestamptz NOT NULL,
      requested_by text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT now(),
      decided_by text,
      decided_at timestamptz,
      decision_note text,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT exceptions_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by),
      CONSTRAINT exceptions_decision_complete CHECK ((status IN ('pending')) = (decided_by IS NULL))
    );
    CREATE INDEX exceptions_status_idx ON exceptions (status, expires_at);
    CREATE INDEX exceptions_rule_idx ON exceptions (rule_id);

    ALTER TABLE findings DROP CONSTRAINT findings_status_valid;
    ALTER TABLE findings ADD CONSTRAINT findings_status_valid CHECK (status IN ('open', 'resolved', 'excepted'));
    ALTER TABLE findings ADD COLUMN exception_id uuid CONSTRAINT findings_exception_fk REFERENCES exceptions (id);
    ALTER TABLE findings ADD COLUMN exception_expired_at timestamptz;
    -- The exception that applied to a finding when an evaluation saw it: history stays exact.
    ALTER TABLE evaluation_findings ADD COLUMN exception_id uuid CONSTRAINT evaluation_findings_exception_fk REFERENCES exceptions (id);

    ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_kind_valid;
    ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_kind_valid
      CHECK (kind IN ('evaluation', 'collection', 'attestation', 'exception', 'remediation'));
    ALTER TABLE evidence_items ALTER COLUMN body DROP NOT NULL;
    ALTER TABLE evidence_items ADD COLUMN body_store text NOT NULL DEFAULT 'postgres'
      CONSTRAINT evidence_items_body_store_valid CHECK (body_store IN ('postgres', 's3'));
    ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_body_present CHECK ((body IS NULL) = (body_store = 's3'));
    CREATE INDEX evidence_items_collected_idx ON evidence_items (collected_at, seq);
    -- The export reads one control's items in chain order, a page at a time.
    CREATE INDEX evidence_items_control_seq_idx ON evidence_items (control_id, seq);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX evidence_items_control_seq_idx;
    DROP INDEX evidence_items_collected_idx;
    ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_body_present;
    ALTER TABLE evidence_items DROP COLUMN body_store;
    ALTER TABLE evidence_items ALTER COLUMN body SET NOT NULL;
    ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_kind_valid;
    ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_kind_valid CHECK (kind IN ('evaluation', 'attestation', 'remediation'));
    ALTER TABLE evaluation_findings DROP COLUMN exception_id;
    ALTER TABLE findings DROP COLUMN exception_expired_at;
    ALTER TABLE findings DROP COLUMN exception_id;
    ALTER TABLE findings DROP CONSTRAINT findings_status_valid;
    ALTER TABLE findings ADD CONSTRAINT findings_status_valid CHECK (status IN ('open', 'resolved'));
    DROP TABLE exceptions;
    DROP TABLE attestation_files;
    DROP TABLE attestations;
  `);
}
