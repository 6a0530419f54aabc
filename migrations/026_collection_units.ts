import type { Knex } from 'knex';

/**
 * A collection run's units of work, one per (source, service): each is a pg-boss job that any
 * instance may take, so a run spreads over every instance. A unit is claimed and completed by
 * conditional updates (the `claim` token of the attempt that may complete it), keeps what it saw in
 * `output` once it is done (or the gap saying why not, when every attempt failed), and counts its
 * attempts; the run is finalised from the outputs, in `position` order, once no unit is left.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE collection_units (
      id uuid CONSTRAINT collection_units_pk PRIMARY KEY,
      run_id uuid NOT NULL CONSTRAINT collection_units_run_fk REFERENCES collection_runs (id) ON DELETE CASCADE,
      source_id uuid NOT NULL,
      source_name text NOT NULL,
      account_id text NOT NULL,
      region text NOT NULL,
      service text NOT NULL,
      position integer NOT NULL CONSTRAINT collection_units_position_valid CHECK (position >= 0),
      status text NOT NULL DEFAULT 'queued' CONSTRAINT collection_units_status_valid CHECK (status IN ('queued', 'running', 'done', 'failed')),
      attempts integer NOT NULL DEFAULT 0 CONSTRAINT collection_units_attempts_valid CHECK (attempts >= 0),
      claim uuid,
      claimed_by text,
      claimed_at timestamptz,
      output jsonb,
      error text,
      finished_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT collection_units_unit_unique UNIQUE (run_id, source_id, service),
      CONSTRAINT collection_units_position_unique UNIQUE (run_id, position),
      CONSTRAINT collection_units_output_when_finished CHECK ((status IN ('done', 'failed')) = (output IS NOT NULL AND finished_at IS NOT NULL))
    );
    CREATE INDEX collection_units_run_status_idx ON collection_units (run_id, status);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE collection_units');
}
