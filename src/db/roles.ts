import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import PgBossModule from 'pg-boss';

// pg-boss is CommonJS; under ESM its class may arrive as the default export or as `.PgBoss` (as in src/jobs/queue.ts).
const PgBossClass = ((PgBossModule as unknown as { PgBoss?: unknown }).PgBoss ?? PgBossModule) as unknown as { getConstructionPlans(schema: string): string };

/**
 * Two database roles (docs/SECURITY.md): the owner runs migrations and owns every table; the
 * runtime role the service connects as owns no Custos table, so it cannot ALTER one (no DISABLE
 * TRIGGER) and may only INSERT and SELECT the history: the audit log, the evidence chain, the
 * decision log and attestations. It owns the `pgboss` schema of the job queue, because pg-boss
 * creates a table per queue as it starts.
 */

/** Tables whose rows are history: appended and read, never changed. */
export const APPEND_ONLY_TABLES = ['audit_log', 'evidence_items', 'decision_log', 'attestations', 'attestation_files'];

/** The role a connection string logs in as. */
export const roleOf = (url: string): string => decodeURIComponent(new URL(url).username);

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * Grants the runtime role what the service needs, run by the owner after every migration (new
 * tables get their grants too). Idempotent.
 */
export async function grantRuntime(owner: Knex, runtimeRole: string): Promise<void> {
  const role = ident(runtimeRole);
  await owner.raw(`
    GRANT USAGE ON SCHEMA public TO ${role};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};
    REVOKE UPDATE, DELETE, TRUNCATE ON ${APPEND_ONLY_TABLES.join(', ')} FROM ${role};
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON knex_migrations, knex_migrations_lock FROM ${role};
    -- Bundles are history (decisions and evaluations cite them): never deleted (migration 027).
    REVOKE DELETE, TRUNCATE ON policy_bundles FROM ${role};
    -- A finding's sighting goes only with its finding (ON DELETE CASCADE; migration 037).
    REVOKE DELETE, TRUNCATE ON finding_sightings FROM ${role};
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  `);
  // The job queue's schema belongs to the runtime role (pg-boss creates a table per queue as it
  // starts); the owner installs it, since the runtime role may not create schemas.
  const installed = (await owner.raw(`SELECT to_regclass('pgboss.version') AS t`)).rows[0].t;
  if (!installed) await owner.raw(PgBossClass.getConstructionPlans('pgboss'));
  await owner.raw(`
    DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'pgboss' AND c.relkind IN ('r', 'p', 'S', 'v') AND pg_get_userbyid(c.relowner) <> ${literal(runtimeRole)} LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %I', r.name, ${literal(runtimeRole)});
      END LOOP;
      FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'pgboss' AND pg_get_userbyid(p.proowner) <> ${literal(runtimeRole)} LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.name, ${literal(runtimeRole)});
      END LOOP;
      FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname = 'pgboss' AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> ${literal(runtimeRole)} LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO %I', r.name, ${literal(runtimeRole)});
      END LOOP;
    END $$;
    ALTER SCHEMA pgboss OWNER TO ${role};
  `);
}

/**
 * Embedded mode: the cluster's superuser is the owner; this creates the runtime role (login,
 * nothing else) on first use with a generated password kept beside the cluster (0600), and returns
 * the runtime connection string.
 */
export async function ensureRuntimeRole(owner: Knex, ownerUrl: string, dataDir: string, roleName = 'custos_app'): Promise<string> {
  const passwordFile = path.join(dataDir, 'pg-app-password');
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('base64url');
    await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const role = ident(roleName);
  const exists = (await owner.raw('SELECT 1 FROM pg_roles WHERE rolname = ?', [roleName])).rows.length > 0;
  // The password is a generated base64url string: safe to inline (ALTER ROLE takes no parameters).
  await owner.raw(`${exists ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '${password}'`);
  const url = new URL(ownerUrl);
  url.username = roleName;
  url.password = password;
  return url.toString();
}
