import t from 'tap';
import { migrations } from '../../migrations/index.js';
import { createKnex } from '../../src/db/database.js';
import { freshDatabaseUrl } from '../helpers/app.js';

const tables = async (knex: ReturnType<typeof createKnex>) =>
  (await knex('pg_tables').where({ schemaname: 'public' }).whereNotIn('tablename', ['knex_migrations', 'knex_migrations_lock'])
    // Monthly partitions (the decision log's) come and go with the calendar; their parent is listed.
    .whereNotIn('tablename', knex('pg_class').where('relispartition', true).select('relname'))
    .pluck('tablename')).sort();

t.test('each migration runs up and down against real PostgreSQL', async (t) => {
  const knex = createKnex(await freshDatabaseUrl());
  t.teardown(() => knex.destroy());

  const after: string[][] = [];
  for (const migration of migrations) {
    await knex.migrate.up();
    after.push(await tables(knex));
    t.pass(`${migration.name} up`);
  }
  t.ok(after.every((set, i) => i === 0 || set.length >= after[i - 1]!.length), 'tables accumulate');
  t.same(after.at(-1), [
    'access_grants', 'access_requests', 'alert_channel_secrets', 'alert_delivery_attempts', 'alert_events', 'alert_metric_counts', 'alert_metric_values', 'alert_notifications', 'alerts', 'api_keys', 'asset_columns', 'assets', 'attestation_files', 'attestations', 'audit_log', 'catalog_evaluation_requests', 'classifications',
    'collection_runs', 'collection_units', 'compliance_records', 'console_logins', 'console_sessions', 'data_quality_connections', 'data_quality_results', 'data_quality_rules', 'data_quality_runs', 'decision_log', 'domains', 'evaluation_findings', 'evaluation_pending_violations', 'evaluations', 'evidence_items',
    'exceptions', 'finding_sightings', 'findings', 'masking_rules', 'organizations', 'pending_changes',
    'policy_bundles', 'principals', 'remediation_approvals', 'remediation_resources', 'remediation_steps', 'remediations', 'retention_policies', 'role_mappings', 'run_coverage', 'run_item_counts', 'run_items', 'run_slice_digests', 'sources',
  ]);
  t.equal((await knex('classifications').count('* as n').first())!.n, 4, 'reference data loaded');

  for (let i = migrations.length - 1; i >= 0; i--) {
    await knex.migrate.down();
    t.same(await tables(knex), i === 0 ? [] : after[i - 1], `${migrations[i]!.name} down restores the previous schema`);
  }

  // And up again from nothing: down left no debris behind (functions, triggers, indexes).
  await knex.migrate.latest();
  t.same(await tables(knex), after.at(-1));
});

t.test('every constraint has a chosen name, not a generated one', async (t) => {
  const knex = createKnex(await freshDatabaseUrl());
  t.teardown(() => knex.destroy());
  await knex.migrate.latest();
  const { rows } = await knex.raw(`
    SELECT c.conname, t.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname NOT LIKE 'knex_%' AND c.contype <> 'n'`);
  t.ok(rows.length > 30);
  const generated = rows.filter((r: { conname: string }) => /_(pkey|fkey|key|check|not_null)$/.test(r.conname));
  t.same(generated, [], 'no PostgreSQL-generated constraint names');
});

t.test('034 empties the pending violations older code kept: no evaluation reads them again', async (t) => {
  const knex = createKnex(await freshDatabaseUrl());
  t.teardown(() => knex.destroy());
  const at = migrations.findIndex((m) => m.name === '034_evaluation_base');
  for (let i = 0; i < at; i++) await knex.migrate.up();
  const runId = '01900000-0000-7000-8000-000000000001';
  const evaluationId = '01900000-0000-7000-8000-000000000002';
  await knex('collection_runs').insert({ id: runId, status: 'complete', trigger: 'file', requested_by: 'test' });
  await knex('evaluations').insert({ id: evaluationId, run_id: runId, status: 'complete', trigger: 'api', requested_by: 'test' });
  await knex('evaluation_pending_violations').insert({ evaluation_id: evaluationId, rule_id: 'r', resource_type: 'AWS::S3::Bucket', item_kind: 'resource', item_key: 'k', violates_after: 1, violation: '{}' });
  await knex.migrate.up();
  t.equal(Number((await knex('evaluation_pending_violations').count('* as n').first())!.n), 0);
  t.equal(Number((await knex('evaluations').count('* as n').first())!.n), 1, 'the evaluations stay');
});
