import type { Knex } from 'knex';

/**
 * Sign-in for people (issue 15): OpenID Connect logins in progress (state, PKCE verifier, nonce;
 * one-time, short-lived), server-side console sessions (only the hash of the cookie's value is
 * stored), the IdP group → Custos role mappings an admin manages, and the email of the person behind
 * an audit row (012 added its subject).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE console_logins (
      state_hash text CONSTRAINT console_logins_pk PRIMARY KEY,
      kind text NOT NULL CONSTRAINT console_logins_kind_valid CHECK (kind IN ('oidc', 'demo')),
      code_verifier text,
      nonce text,
      return_to text NOT NULL DEFAULT '/',
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE console_sessions (
      id_hash text CONSTRAINT console_sessions_pk PRIMARY KEY,
      subject text NOT NULL,
      email text,
      name text NOT NULL,
      groups jsonb NOT NULL DEFAULT '[]',
      csrf_secret text NOT NULL,
      fixed_role text CONSTRAINT console_sessions_fixed_role_valid
        CHECK (fixed_role IS NULL OR fixed_role IN ('admin', 'steward', 'compliance_officer', 'auditor')),
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
    CREATE INDEX console_sessions_subject_idx ON console_sessions (subject);

    CREATE TABLE role_mappings (
      id uuid CONSTRAINT role_mappings_pk PRIMARY KEY,
      "group" text NOT NULL CONSTRAINT role_mappings_group_unique UNIQUE,
      role text NOT NULL CONSTRAINT role_mappings_role_valid CHECK (role IN ('admin', 'steward', 'compliance_officer', 'auditor')),
      version integer NOT NULL DEFAULT 1,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    ALTER TABLE audit_log ADD COLUMN actor_email text;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE audit_log DROP COLUMN actor_email;
    DROP TABLE role_mappings;
    DROP TABLE console_sessions;
    DROP TABLE console_logins;
  `);
}
