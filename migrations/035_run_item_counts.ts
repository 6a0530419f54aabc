import type { Knex } from 'knex';

/**
 * Per finished run, how many items it holds of each kind, type, account and region. Counted in the
 * pass that digests the run's items when it finishes (src/sources/run-store.ts, `runDigests`), so
 * that an evaluation learns what the run saw (rule coverage), how many items it holds and how its
 * accounts divide into groups without counting the run's items again: in bench:evaluate those
 * counts scanned the run's 170,000 items three times per evaluation (2.3 s of PostgreSQL time in a
 * re-evaluation of 5 s). A run finished before this migration is counted on first use and kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE run_item_counts (
      run_id uuid NOT NULL CONSTRAINT run_item_counts_run_fk REFERENCES collection_runs (id) ON DELETE CASCADE,
      kind text NOT NULL CONSTRAINT run_item_counts_kind_valid CHECK (kind IN ('resource', 'finding', 'permission', 'setting')),
      type text NOT NULL,
      account text NOT NULL,
      region text NOT NULL,
      items integer NOT NULL CONSTRAINT run_item_counts_items_positive CHECK (items > 0),
      CONSTRAINT run_item_counts_pk PRIMARY KEY (run_id, kind, type, account, region)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE run_item_counts');
}
