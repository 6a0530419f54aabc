import { randomBytes } from 'node:crypto';
import t from 'tap';
import { cusipValid, isinValid } from '../../src/data-quality/kinds.js';
import { planRule, type StoredRule } from '../../src/data-quality/plan.js';
import { cusipCheck, isinCheck, ruleSql } from '../../src/data-quality/postgres.js';
import { create, testApp } from '../helpers/app.js';
import { assetId, loadCatalog, registerConnection, resultOf, runAndWait, wealthDatabase } from './helpers.js';

// Rule kinds pushed down to this file's embedded PostgreSQL, beyond the demo's planted defects:
// check digits computed by the store agree with Custos's own, unique over several columns, a row
// count relative to the previous run.

t.test('CUSIP and ISIN check digits computed by PostgreSQL agree with Custos on valid, corrupted and random values', async (t) => {
  const db = await wealthDatabase(t, { defects: false });
  const valid = { cusip: ['037833100', '594918104', '38259P508', '17275R102', '68389X105', 'G7945M107', '00206R102'], isin: ['US0378331005', 'US5949181045', 'GB0002634946', 'XS2021832634', 'DE000BAY0017', 'AU0000XVGZA3', 'NL0000729408', 'US38259P5089'] };
  // Each valid value with every other check digit, and shape-valid random values (about one in ten is valid).
  const wrongDigits = (v: string) => Array.from({ length: 10 }, (_, d) => v.slice(0, -1) + d).filter((x) => x !== v);
  const alnum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const random = (n: number, length: number, prefix = '') =>
    Array.from({ length: n }, () => prefix + [...randomBytes(length)].map((b, i) => (i === length - 1 ? String(b % 10) : alnum[b % alnum.length])).join(''));
  const cases = {
    cusip: [...valid.cusip, ...valid.cusip.flatMap(wrongDigits), ...random(400, 9), '*@#000009', '@@@@@@@@0'],
    isin: [...valid.isin, ...valid.isin.flatMap(wrongDigits), ...random(200, 10, 'US'), ...random(200, 10, 'XS')],
  };
  for (const [kind, values] of Object.entries(cases) as Array<['cusip' | 'isin', string[]]>) {
    const check = kind === 'cusip' ? cusipCheck('v') : isinCheck('v');
    const js = kind === 'cusip' ? cusipValid : isinValid;
    const { rows } = await db.client.query(`SELECT v, ${check} AS ok FROM unnest($1::text[]) AS v`, [values]);
    const disagreements = rows.filter((r: { v: string; ok: boolean }) => r.ok !== js(r.v));
    t.same(disagreements, [], `${kind}: PostgreSQL and Custos agree on ${values.length} values`);
    t.ok(valid[kind].every((v) => rows.find((r: { v: string }) => r.v === v).ok), `${kind}: the real identifiers are valid`);
    t.ok(rows.filter((r: { ok: boolean }) => !r.ok).length > values.length / 2, `${kind}: most corrupted and random values are not`);
  }
  const plan = await db.client.query(`EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FILTER (WHERE NOT ${cusipCheck('v')} OR NOT ${isinCheck('v')}) FROM unnest($1::text[]) AS v`, [['x']]);
  t.notMatch(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'), /SubPlan|InitPlan/, 'a scalar expression per row, no subquery');
});

t.test('unique over several columns; a row count within a percentage of the previous run', async (t) => {
  const api = await testApp(t);
  const db = await wealthDatabase(t, { defects: false });
  await db.client.query(`CREATE TABLE holdings (holding_id int PRIMARY KEY, account_id int, security_id int, as_of date)`);
  // (1, 1) three times, (2, 5) twice: 5 failing rows; (3, NULL) twice is not a duplicate key (nulls are not_null's business).
  await db.client.query(`INSERT INTO holdings VALUES (1, 1, 1, '2026-01-01'), (2, 1, 1, '2026-01-02'), (3, 1, 1, '2026-01-03'), (4, 2, 5, '2026-01-01'),
    (5, 2, 5, '2026-01-02'), (6, 2, 6, '2026-01-01'), (7, 3, NULL, '2026-01-01'), (8, 3, NULL, '2026-01-02'), (9, 4, 1, '2026-01-01'), (10, 1, 2, '2026-01-01')`);
  await db.client.query(`GRANT SELECT ON holdings TO ${db.role}`);
  await create(api, '/v1/domains', { name: 'Investment', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const asset = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'holdings',
    domain: 'Investment',
    columns: ['holding_id', 'account_id', 'security_id', 'as_of'].map((name) => ({ name, data_type: 'int', classification: 'internal' })),
  });
  await registerConnection(api, 'wealth', db);
  const rule = (body: Record<string, unknown>) => create(api, '/v1/data-quality-rules', { asset_id: asset.id, severity: 'medium', ...body }, 'steward');
  const pair = await rule({ column_name: 'account_id', name: 'one line per security', rule_type: 'unique', definition: { columns: ['account_id', 'security_id'] } });
  const triple = await rule({ column_name: 'account_id', name: 'one line per day', rule_type: 'unique', definition: { columns: ['account_id', 'security_id', 'as_of'] } });
  const steady = await rule({ name: 'steady volume', rule_type: 'row_count', definition: { within_percent: 20 } });

  const first = await runAndWait(api, '/v1/data-quality-runs', { asset_id: asset.id });
  t.match(resultOf(first, pair), { status: 'failed', rows_checked: 10, rows_failing: 5, ratio: 0.5 });
  t.same(
    resultOf(first, pair).samples.map((s: Record<string, unknown>) => [s.account_id, s.security_id, s['#rows']]),
    [
      [1, 1, 3],
      [2, 5, 2],
    ],
    'the duplicated keys, largest group first, with their number of rows',
  );
  t.match(resultOf(first, triple), { status: 'passed', rows_checked: 10, rows_failing: 0 });
  t.match(resultOf(first, steady), { status: 'passed', rows_checked: 10, observed: { rows: 10, previous_rows: null } }, 'no previous run: nothing to compare with');

  await db.client.query(`INSERT INTO holdings SELECT i, 100 + i, 1, '2026-02-01' FROM generate_series(11, 12) AS i`);
  const within = await runAndWait(api, `/v1/data-quality-rules/${steady.id}/run`);
  t.match(resultOf(within, steady), { status: 'passed', observed: { rows: 12, previous_rows: 10, change_percent: 20 } }, '+20% is within 20%');
  await db.client.query(`INSERT INTO holdings SELECT i, 100 + i, 1, '2026-02-01' FROM generate_series(13, 15) AS i`);
  const beyond = await runAndWait(api, `/v1/data-quality-rules/${steady.id}/run`);
  t.match(resultOf(beyond, steady), { status: 'failed', observed: { rows: 15, previous_rows: 12, change_percent: 25, reasons: ['changed by more than 20% since the last run'] } });
});

t.test('every kind is one aggregate query that reads its table once, with no subquery per row', async (t) => {
  const api = await testApp(t, { workers: false });
  await loadCatalog(api);
  const db = await wealthDatabase(t, { defects: true });
  const [clients, accounts] = [await assetId(api, 'wealth', 'clients'), await assetId(api, 'wealth', 'accounts')];
  const kinds: Array<Record<string, unknown>> = [
    { asset_id: clients, column_name: 'last_name', rule_type: 'not_null' },
    { asset_id: clients, column_name: 'ssn', rule_type: 'unique' },
    { asset_id: clients, column_name: 'first_name', rule_type: 'unique', definition: { columns: ['first_name', 'last_name', 'date_of_birth'] } },
    { asset_id: clients, column_name: 'date_of_birth', rule_type: 'range', definition: { min: '1900-01-01', max: 'now' } },
    { asset_id: clients, column_name: 'marital_status', rule_type: 'allowed_values', definition: { values: ['single', 'married'] } },
    { asset_id: clients, column_name: 'first_name', rule_type: 'format', definition: { pattern: 'email' } },
    { asset_id: clients, column_name: 'first_name', rule_type: 'format', definition: { pattern: 'iso_country' } },
    { asset_id: clients, column_name: 'first_name', rule_type: 'format', definition: { pattern: 'cusip' } },
    { asset_id: clients, column_name: 'first_name', rule_type: 'format', definition: { pattern: 'isin' } },
    { asset_id: clients, column_name: 'first_name', rule_type: 'format', definition: { regex: '^[A-Z][a-z]+[0-9]*$' } },
    { asset_id: accounts, column_name: 'client_id', rule_type: 'referential', definition: { references: 'clients.client_id' } },
    { asset_id: clients, column_name: 'updated_at', rule_type: 'freshness', definition: { max_age: 'P1D' } },
    { asset_id: clients, rule_type: 'row_count', definition: { min: 1 } },
    { asset_id: accounts, rule_type: 'custom_sql', definition: { sql: "account_balance >= 0 OR lower(account_status) IN ('closed', 'frozen')" } },
  ];
  for (const [i, body] of kinds.entries()) {
    const made = await create(api, '/v1/data-quality-rules', { name: `kind ${i}`, severity: 'low', ...body }, 'steward');
    const stored = (await api.app.db('data_quality_rules').where({ id: made.id }).first()) as StoredRule;
    const plan = await planRule(api.app.db, stored);
    const { aggregate } = ruleSql(plan, 'public', 5);
    const explained = await db.client.query(`EXPLAIN (COSTS OFF) ${aggregate.text}`, aggregate.values);
    const text = explained.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    const what = `${body.rule_type} ${JSON.stringify(body.definition ?? {})}`;
    t.notMatch(text, /SubPlan|InitPlan/, `${what}: no subquery per row or extra query`);
    const scans = (table: string) => text.match(new RegExp(`Scan (using \\S+ )?on ${table}\\b`, 'g'))?.length ?? 0;
    t.equal(scans(plan.asset.table_name), 1, `${what}: reads ${plan.asset.table_name} once`);
    if (plan.referenced) t.equal(scans(plan.referenced.table_name), 1, `${what}: and ${plan.referenced.table_name} once`);
    // And it runs: the aggregate's one row.
    const { rows } = await db.client.query(aggregate.text, aggregate.values);
    t.equal(rows.length, 1, `${what}: one row`);
  }
});
