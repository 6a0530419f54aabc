/**
 * `npm run bench:dq`: ten data quality rules over seed 001's `transactions` table holding 1,000,000
 * rows (BENCH_ROWS to change), run as one data quality run against a second database of the
 * embedded PostgreSQL. Prints the run's wall time, each rule's duration and rows checked per second.
 * The work is the database's: each rule is one aggregate query. BENCH_EXPLAIN=1 also prints each
 * rule's aggregate query with its EXPLAIN ANALYZE, run as the rules' read-only login, to see where
 * the time goes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { planRule, type StoredRule } from '../src/data-quality/plan.js';
import { ruleSql } from '../src/data-quality/postgres.js';
import { createRun, executeRun, type ResultRow } from '../src/data-quality/runs.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { loadDemoData } from '../src/demo/load.js';
import { createReadOnlyRole, createWealthData } from '../src/demo/wealth-data.js';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'custos-bench-dq-'));
await fs.chmod(dataDir, 0o755);
const app = await buildApp({ config: { dataDir, logLevel: 'silent', adminKey: 'bench-admin-key-000000000000000' }, announce: () => {}, workers: false });
try {
  await loadDemoData(app.db);
  // The cluster's superuser creates the benchmark's database: Custos itself connects as custos_app, which may not.
  const server = new URL((await startEmbeddedPostgres(dataDir, () => {}, { existingOnly: true })).url);
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS wealth_bench');
  await admin.query('CREATE DATABASE wealth_bench');
  await admin.end();
  server.pathname = '/wealth_bench';
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  await createWealthData(client, { defects: true });
  let started = performance.now();
  await client.query(
    `INSERT INTO transactions SELECT i, 1 + i % 30, 1 + i % 5, (ARRAY['buy', 'sell', 'dividend'])[1 + i % 3], current_date - (i % 365), 1 + i % 100, 100.25, (1 + i % 100) * 100.25
     FROM generate_series(1, $1::int) AS i`,
    [rows],
  );
  await client.query('ANALYZE transactions');
  await createReadOnlyRole(client, 'custos_dq_bench', 'bench-password');
  await client.end();
  console.log(`Custos data quality benchmark — ${rows.toLocaleString('en')} rows in transactions (loaded in ${((performance.now() - started) / 1000).toFixed(1)} s), ${os.cpus().length} CPUs\n`);

  process.env.CUSTOS_DQ_BENCH = 'bench-password';
  await app.db('data_quality_connections').insert({
    id: '01900000-0000-7000-8000-00000000d001',
    name: 'bench',
    store: 'aurora',
    database: 'wealth',
    settings: JSON.stringify({ host: server.hostname, port: Number(server.port), dbname: 'wealth_bench', username: 'custos_dq_bench', credential: { env: 'CUSTOS_DQ_BENCH' }, tls: false, statement_timeout_ms: 60_000, sample_size: 10 }),
  });
  const asset = (await app.db('assets').where({ store: 'aurora', database: 'wealth', table_name: 'transactions' }).first('id')).id;
  const rules = [
    { name: 'account present', column_name: 'account_id', rule_type: 'not_null', definition: {} },
    { name: 'id unique', column_name: 'transaction_id', rule_type: 'unique', definition: {} },
    { name: 'quantity positive', column_name: 'quantity', rule_type: 'range', definition: { min: 0 } },
    { name: 'not in the future', column_name: 'transaction_date', rule_type: 'range', definition: { max: 'now' } },
    { name: 'type known', column_name: 'transaction_type', rule_type: 'allowed_values', definition: { values: ['buy', 'sell', 'dividend'] } },
    { name: 'type lower case', column_name: 'transaction_type', rule_type: 'format', definition: { regex: '^[a-z]+$' } },
    { name: 'account exists', column_name: 'account_id', rule_type: 'referential', definition: { references: 'accounts.account_id' } },
    { name: 'loaded daily', column_name: 'transaction_date', rule_type: 'freshness', definition: { max_age: 'P1D' } },
    { name: 'has rows', column_name: null, rule_type: 'row_count', definition: { min: 1 } },
    { name: 'amount adds up', column_name: null, rule_type: 'custom_sql', definition: { sql: 'amount = quantity * price' } },
  ];
  const ids: string[] = [];
  for (const [i, rule] of rules.entries()) {
    const id = `01900000-0000-7000-8000-00000000e0${String(i).padStart(2, '0')}`;
    await app.db('data_quality_rules').insert({ id, asset_id: asset, severity: 'high', ...rule, definition: JSON.stringify(rule.definition) });
    ids.push(id);
  }
  const context = { actor: 'bench', actorKeyId: null, role: 'system' };
  const run = await app.db.transaction((trx) => createRun(trx, { ruleIds: ids, scope: { asset_id: asset }, trigger: 'api', context }));
  started = performance.now();
  const done = await executeRun(app.db, run.id, { aws: {} });
  const wallMs = performance.now() - started;
  const results: ResultRow[] = await app.db('data_quality_results').where({ run_id: run.id }).orderBy('rule_id');
  for (const [i, r] of results.entries()) {
    console.log(`${rules[i]!.name.padEnd(20)} ${r.rule_type.padEnd(15)} ${r.status.padEnd(8)} ${String(r.duration_ms).padStart(6)} ms  ${Number(r.rows_checked).toLocaleString('en').padStart(10)} rows${r.error ? `  ${r.error}` : ''}`);
  }
  const checked = results.reduce((sum, r) => sum + Number(r.rows_checked), 0);
  console.log(`\nrun ${done?.status}: ${rules.length} rules in ${(wallMs / 1000).toFixed(2)} s wall time, ${Math.round(checked / (wallMs / 1000)).toLocaleString('en')} rows checked/s (${checked.toLocaleString('en')} rows checked in all)`);

  if (process.env.BENCH_EXPLAIN) {
    const reader = new URL(server.toString());
    reader.username = 'custos_dq_bench';
    reader.password = 'bench-password';
    const explain = new pg.Client({ connectionString: reader.toString() });
    await explain.connect();
    try {
      for (const [i, id] of ids.entries()) {
        const stored = (await app.db('data_quality_rules').where({ id }).first()) as StoredRule;
        const { aggregate } = ruleSql(await planRule(app.db, stored), 'public', 10);
        const plan = await explain.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${aggregate.text}`, aggregate.values);
        console.log(`\n— ${rules[i]!.name} (${rules[i]!.rule_type})\n${aggregate.text}\n${plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
      }
    } finally {
      await explain.end();
    }
  }
} finally {
  await app.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
