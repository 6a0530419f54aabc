import type { Knex } from 'knex';

/**
 * Organization sources (issue 17): an AWS Organization registered through its management (or
 * delegated administrator) account. Each sync lists its accounts and keeps one source per active
 * account and region (sources.organization_id), disabling those of accounts that left; `accounts`
 * holds what the last sync saw, so joins and leaves are reported.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE organizations (
      id uuid CONSTRAINT organizations_pk PRIMARY KEY,
      name text NOT NULL CONSTRAINT organizations_name_unique UNIQUE,
      management_account_id text NOT NULL CONSTRAINT organizations_management_account_id_format CHECK (management_account_id ~ '^[0-9]{12}$'),
      management_role_arn text CONSTRAINT organizations_management_role_arn_format CHECK (management_role_arn ~ '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$'),
      member_role_name text NOT NULL CONSTRAINT organizations_member_role_name_format CHECK (member_role_name ~ '^[A-Za-z0-9+=,.@_/-]{1,64}$'),
      regions jsonb,
      services jsonb NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      accounts jsonb NOT NULL DEFAULT '[]',
      last_synced_at timestamptz,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE sources ADD COLUMN organization_id uuid
      CONSTRAINT sources_organization_id_fk REFERENCES organizations (id) ON DELETE SET NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE sources DROP COLUMN organization_id; DROP TABLE organizations;');
}
