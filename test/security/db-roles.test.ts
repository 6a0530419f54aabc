import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { createKnex } from '../../src/db/database.js';
import { ensureRuntimeRole, roleOf } from '../../src/db/roles.js';
import { freshDatabaseUrl, tempDir, testApp } from '../helpers/app.js';

// The issue: the service connected as the superuser, so `ALTER TABLE audit_log DISABLE TRIGGER`, an
// UPDATE and ENABLE rewrote who made a change. Now it connects as a runtime role that owns nothing
// and may only INSERT and SELECT the history; migrations run as the owner.

async function runtimeRole(ownerUrl: string) {
  const owner = createKnex(ownerUrl);
  const dir = await tempDir();
  const name = `custos_app_${randomBytes(4).toString('hex')}`;
  try {
    return { url: await ensureRuntimeRole(owner, ownerUrl, dir, name), dir, name };
  } finally {
    await owner.destroy();
  }
}

async function asRole(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  } finally {
    await client.end();
  }
}

t.test('the runtime role owns nothing: the history is INSERT and SELECT only, its triggers out of reach', async (t) => {
  const ownerUrl = await freshDatabaseUrl();
  const runtime = await runtimeRole(ownerUrl);
  t.equal(roleOf(runtime.url), runtime.name);
  t.equal(statSync(path.join(runtime.dir, 'pg-app-password')).mode & 0o777, 0o600, 'its password is kept 0600');

  // The service runs as the runtime role and works: migrations ran as the owner.
  const api = await testApp(t, { config: { databaseUrl: runtime.url, migrationDatabaseUrl: ownerUrl } });
  const made = await api.call('POST', '/v1/domains', { as: 'steward', body: { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'annual' } });
  t.equal(made.status, 201);
  const who = await api.app.db.raw('SELECT current_user AS user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser');
  t.same(who.rows[0], { user: runtime.name, superuser: false });
  const owners = await api.app.db.raw(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user`);
  t.equal(owners.rows[0].n, 0, 'it owns no table of Custos');

  // What the insider tried, as the runtime role: every step is refused by PostgreSQL.
  for (const [sql, refusal] of [
    ['ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete', /^42501: must be owner of table audit_log/],
    ["UPDATE audit_log SET actor = 'someone-else'", /^42501: permission denied for table audit_log/],
    ['DELETE FROM audit_log', /^42501: permission denied for table audit_log/],
    ['TRUNCATE audit_log', /^42501: permission denied for table audit_log/],
    ['ALTER TABLE evidence_items DISABLE TRIGGER ALL', /^42501: must be owner of table evidence_items/],
    ["UPDATE evidence_items SET hash = 'x'", /^42501: permission denied for table evidence_items/],
    ['DELETE FROM evidence_items', /^42501: permission denied for table evidence_items/],
    ['DELETE FROM decision_log', /^42501: permission denied for table decision_log/],
    ['DELETE FROM finding_sightings', /^42501: permission denied for table finding_sightings/],
    ['DROP TABLE audit_log', /^42501: must be owner of table audit_log/],
    ['CREATE TABLE public.shadow (id int)', /^42501: permission denied for schema public/],
    ["INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('x', 99, now())", /^42501: permission denied for table knex_migrations/],
  ] as const) {
    t.match(await asRole(runtime.url, sql), refusal, sql);
  }
  t.equal(await asRole(runtime.url, 'SELECT count(*) FROM audit_log'), 'ok', 'it reads the audit log');
  const rows = await api.app.db('audit_log').where({ entity: 'domains' }).select('actor');
  t.same(rows, [{ actor: 'test-steward' }], 'the audit row is as written');

  // The same statements as the owner succeed: the owner is who the checkpoints watch (test/security/checkpoints.test.ts).
  t.equal(await asRole(ownerUrl, 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete'), 'ok');
  t.equal(await asRole(ownerUrl, 'ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete'), 'ok');
});

t.test('the runtime role is created once, without privileges, and keeps its password across restarts', async (t) => {
  const ownerUrl = await freshDatabaseUrl();
  const first = await runtimeRole(ownerUrl);
  const owner = createKnex(ownerUrl);
  t.teardown(() => owner.destroy());
  const again = await ensureRuntimeRole(owner, ownerUrl, first.dir, first.name);
  t.equal(again, first.url, 'same role, same password from the data directory');
  const role = (await owner.raw('SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ?', [first.name])).rows[0];
  t.same(role, { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, rolcanlogin: true });
});
