import type { Knex } from 'knex';

/**
 * Evidence items: immutable, content-addressed (SHA-256 of the canonical body) and chained (each
 * item's hash covers the previous item's hash), so an edit or deletion anywhere is detectable.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE evidence_items (
      seq bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT evidence_items_pk PRIMARY KEY,
      id uuid NOT NULL CONSTRAINT evidence_items_id_unique UNIQUE,
      control_id text NOT NULL,
      kind text NOT NULL CONSTRAINT evidence_items_kind_valid CHECK (kind IN ('evaluation', 'attestation', 'remediation')),
      source_id text NOT NULL,
      collected_at timestamptz NOT NULL,
      bundle_revision text,
      body jsonb NOT NULL,
      body_sha256 text NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL CONSTRAINT evidence_items_hash_unique UNIQUE
    );
    CREATE INDEX evidence_items_control_idx ON evidence_items (control_id, collected_at);
    CREATE TRIGGER evidence_items_no_update_or_delete BEFORE UPDATE OR DELETE ON evidence_items
      FOR EACH ROW EXECUTE FUNCTION refuse_change();
    CREATE TRIGGER evidence_items_no_truncate BEFORE TRUNCATE ON evidence_items
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE evidence_items');
}
