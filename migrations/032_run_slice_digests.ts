import type { Knex } from 'knex';

/**
 * Per finished run, the digest of each slice of its items (the resources of one type, or every item
 * of another kind): how many, and the SHA-256 of their lines `kind|key|hash` in key order. Made once
 * when the run finishes (src/sources/run-store.ts, `runDigests`), so an evaluation's evidence names
 * what its rules checked without reading the run's items again; an auditor recomputes each from
 * GET /v1/collections/:id/resources?kind=&type=.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE run_slice_digests (
      run_id uuid NOT NULL CONSTRAINT run_slice_digests_run_fk REFERENCES collection_runs (id) ON DELETE CASCADE,
      kind text NOT NULL CONSTRAINT run_slice_digests_kind_valid CHECK (kind IN ('resource', 'finding', 'permission', 'setting')),
      -- The resource type; '' for the other kinds, digested whole.
      type text NOT NULL,
      items integer NOT NULL CONSTRAINT run_slice_digests_items_positive CHECK (items > 0),
      items_sha256 text NOT NULL CONSTRAINT run_slice_digests_sha256_valid CHECK (items_sha256 ~ '^[0-9a-f]{64}$'),
      CONSTRAINT run_slice_digests_pk PRIMARY KEY (run_id, kind, type),
      CONSTRAINT run_slice_digests_type_of_kind CHECK ((kind = 'resource') = (type <> ''))
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE run_slice_digests');
}
