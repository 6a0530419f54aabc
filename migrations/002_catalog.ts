import type { Knex } from 'knex';

/**
 * The metadata catalog. Classifications, domains, masking rules and retention policies are referenced
 * by their names (stable natural keys that read well in the API), with ON UPDATE CASCADE for renames
 * and RESTRICT on delete, so nothing in use can disappear.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE classifications (
      id uuid CONSTRAINT classifications_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT classifications_name_unique UNIQUE,
      rank integer NOT NULL CONSTRAINT classifications_rank_unique UNIQUE,
      description text NOT NULL DEFAULT '',
      handling_requirements jsonb NOT NULL DEFAULT '[]',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE domains (
      id uuid CONSTRAINT domains_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT domains_name_unique UNIQUE,
      description text NOT NULL DEFAULT '',
      owner text NOT NULL,
      steward text NOT NULL,
      review_frequency text NOT NULL CONSTRAINT domains_review_frequency_valid
        CHECK (review_frequency IN ('monthly', 'quarterly', 'semi_annual', 'annual')),
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE masking_rules (
      id uuid CONSTRAINT masking_rules_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT masking_rules_name_unique UNIQUE,
      description text NOT NULL DEFAULT '',
      strategy text NOT NULL CONSTRAINT masking_rules_strategy_valid
        CHECK (strategy IN ('show_last', 'email_domain', 'redact')),
      params jsonb NOT NULL DEFAULT '{}',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE retention_policies (
      id uuid CONSTRAINT retention_policies_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT retention_policies_name_unique UNIQUE,
      description text NOT NULL DEFAULT '',
      data_category text NOT NULL,
      trigger_event text NOT NULL CONSTRAINT retention_policies_trigger_event_valid
        CHECK (trigger_event IN ('record_creation', 'account_closure', 'transaction_date', 'document_date', 'event_date')),
      period text NOT NULL CONSTRAINT retention_policies_period_format CHECK (period ~ '^P([0-9]+Y){0,1}([0-9]+M){0,1}([0-9]+D){0,1}$' AND period <> 'P'),
      period_days integer NOT NULL CONSTRAINT retention_policies_period_days_positive CHECK (period_days > 0),
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE assets (
      id uuid CONSTRAINT assets_pk PRIMARY KEY,
      store text NOT NULL CONSTRAINT assets_store_valid CHECK (store IN ('aurora', 'dynamodb', 's3', 'snowflake', 'glue')),
      database text NOT NULL,
      table_name text NOT NULL,
      description text NOT NULL DEFAULT '',
      domain text NOT NULL CONSTRAINT assets_domain_fk REFERENCES domains (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      classification text NOT NULL
        CONSTRAINT assets_classification_fk REFERENCES classifications (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      retention_policy text
        CONSTRAINT assets_retention_policy_fk REFERENCES retention_policies (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      location text,
      tags jsonb NOT NULL DEFAULT '{}',
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT assets_natural_key_unique UNIQUE (store, database, table_name)
    );
    CREATE INDEX assets_domain_idx ON assets (domain);
    CREATE INDEX assets_classification_idx ON assets (classification);

    CREATE TABLE asset_columns (
      asset_id uuid NOT NULL CONSTRAINT asset_columns_asset_fk REFERENCES assets (id) ON DELETE CASCADE,
      name text NOT NULL,
      position integer NOT NULL,
      data_type text NOT NULL,
      description text NOT NULL DEFAULT '',
      classification text NOT NULL
        CONSTRAINT asset_columns_classification_fk REFERENCES classifications (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      pii_type text CONSTRAINT asset_columns_pii_type_valid
        CHECK (pii_type IN ('ssn', 'email', 'phone', 'credit_card', 'tax_id', 'account_number', 'name', 'address', 'dob')),
      masking_rule text
        CONSTRAINT asset_columns_masking_rule_fk REFERENCES masking_rules (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      CONSTRAINT asset_columns_pk PRIMARY KEY (asset_id, name)
    );
    CREATE INDEX asset_columns_classification_idx ON asset_columns (classification);
    CREATE INDEX asset_columns_pii_type_idx ON asset_columns (pii_type) WHERE pii_type IS NOT NULL;

    CREATE TABLE data_quality_rules (
      id uuid CONSTRAINT data_quality_rules_pk PRIMARY KEY,
      asset_id uuid NOT NULL CONSTRAINT data_quality_rules_asset_fk REFERENCES assets (id) ON DELETE RESTRICT,
      column_name text,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      rule_type text NOT NULL CONSTRAINT data_quality_rules_rule_type_valid
        CHECK (rule_type IN ('not_null', 'unique', 'range', 'regex', 'allowed_values', 'referential', 'freshness', 'row_count', 'custom_sql')),
      definition jsonb NOT NULL DEFAULT '{}',
      severity text NOT NULL CONSTRAINT data_quality_rules_severity_valid CHECK (severity IN ('critical', 'high', 'medium', 'low')),
      enabled boolean NOT NULL DEFAULT true,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT data_quality_rules_name_unique UNIQUE (asset_id, name),
      CONSTRAINT data_quality_rules_column_fk FOREIGN KEY (asset_id, column_name)
        REFERENCES asset_columns (asset_id, name) ON UPDATE CASCADE ON DELETE RESTRICT
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE data_quality_rules;
    DROP TABLE asset_columns;
    DROP TABLE assets;
    DROP TABLE retention_policies;
    DROP TABLE masking_rules;
    DROP TABLE domains;
    DROP TABLE classifications;
  `);
}
