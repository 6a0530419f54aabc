import type { Knex } from 'knex';

/** Compliance records (seed 001 §5.4) and alert configuration (§15.2). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE compliance_records (
      id uuid CONSTRAINT compliance_records_pk PRIMARY KEY,
      regulation text NOT NULL,
      requirement_id text NOT NULL,
      title text NOT NULL DEFAULT '',
      status text NOT NULL CONSTRAINT compliance_records_status_valid
        CHECK (status IN ('compliant', 'partially_compliant', 'non_compliant', 'not_assessed')),
      last_review_date date,
      next_review_date date,
      responsible_party text NOT NULL,
      notes text NOT NULL DEFAULT '',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT compliance_records_requirement_unique UNIQUE (regulation, requirement_id),
      CONSTRAINT compliance_records_review_order CHECK (next_review_date >= last_review_date)
    );
    CREATE INDEX compliance_records_next_review_idx ON compliance_records (next_review_date, id);

    CREATE TABLE alerts (
      id uuid CONSTRAINT alerts_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT alerts_name_unique UNIQUE,
      description text NOT NULL DEFAULT '',
      metric text NOT NULL,
      comparison text NOT NULL CONSTRAINT alerts_comparison_valid CHECK (comparison IN ('gt', 'gte', 'lt', 'lte', 'eq')),
      threshold numeric NOT NULL,
      severity text NOT NULL CONSTRAINT alerts_severity_valid CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
      notification_channels jsonb NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE alerts;
    DROP TABLE compliance_records;
  `);
}
