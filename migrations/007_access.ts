import type { Knex } from 'knex';

/**
 * Data access: the principals that use data, requests for access, and the grants that approvals
 * become (applied to Lake Formation, revoked at expiry). Decisions go to decision_log (005).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE principals (
      id uuid CONSTRAINT principals_pk PRIMARY KEY,
      arn text NOT NULL CONSTRAINT principals_arn_unique UNIQUE
        CONSTRAINT principals_arn_format CHECK (arn ~ '^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$'),
      name text NOT NULL,
      kind text NOT NULL CONSTRAINT principals_kind_valid CHECK (kind IN ('pipeline', 'user', 'service')),
      team text NOT NULL DEFAULT '',
      domain text CONSTRAINT principals_domain_fk REFERENCES domains (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE access_requests (
      id uuid CONSTRAINT access_requests_pk PRIMARY KEY,
      requester text NOT NULL,
      requester_key_id uuid,
      principal text NOT NULL CONSTRAINT access_requests_principal_fk REFERENCES principals (arn) ON UPDATE CASCADE ON DELETE RESTRICT,
      scope text NOT NULL CONSTRAINT access_requests_scope_valid CHECK (scope IN ('table', 'domain', 'lf_tag')),
      store text,
      database text,
      table_name text,
      columns jsonb NOT NULL DEFAULT '[]',
      domain text CONSTRAINT access_requests_domain_fk REFERENCES domains (name) ON UPDATE CASCADE ON DELETE RESTRICT,
      lf_tag_expression jsonb,
      permissions jsonb NOT NULL,
      purpose text NOT NULL,
      duration_days integer NOT NULL CONSTRAINT access_requests_duration_valid CHECK (duration_days BETWEEN 1 AND 365),
      status text NOT NULL CONSTRAINT access_requests_status_valid CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
      decided_by text,
      decided_at timestamptz,
      decision_comment text,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX access_requests_status_idx ON access_requests (status, id);

    CREATE TABLE access_grants (
      id uuid CONSTRAINT access_grants_pk PRIMARY KEY,
      request_id uuid NOT NULL CONSTRAINT access_grants_request_unique UNIQUE
        CONSTRAINT access_grants_request_fk REFERENCES access_requests (id) ON DELETE RESTRICT,
      principal text NOT NULL CONSTRAINT access_grants_principal_fk REFERENCES principals (arn) ON UPDATE CASCADE ON DELETE RESTRICT,
      scope text NOT NULL,
      store text,
      database text,
      table_name text,
      columns jsonb NOT NULL DEFAULT '[]',
      domain text,
      lf_tag_expression jsonb,
      permissions jsonb NOT NULL,
      purpose text NOT NULL,
      starts_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      status text NOT NULL CONSTRAINT access_grants_status_valid
        CHECK (status IN ('pending_apply', 'active', 'pending_revoke', 'revoked', 'expired')),
      lake_formation jsonb,
      aws_request_ids jsonb NOT NULL DEFAULT '[]',
      last_error text,
      attempts integer NOT NULL DEFAULT 0,
      revoked_at timestamptz,
      revoked_by text,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT access_grants_period_valid CHECK (expires_at > starts_at)
    );
    CREATE INDEX access_grants_principal_idx ON access_grants (principal, status);
    CREATE INDEX access_grants_expiry_idx ON access_grants (status, expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE access_grants;
    DROP TABLE access_requests;
    DROP TABLE principals;
  `);
}
