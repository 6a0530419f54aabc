import pg from 'pg';
import t from 'tap';
import { CLIENTS, CONTACTS, ACCOUNTS, PLANTED, ssnOf } from '../../src/demo/wealth-data.js';
import { create, evaluateSnapshot, testApp } from '../helpers/app.js';
import { assetId, copyWealthAssets, createDemoRules, loadCatalog, registerConnection, resultOf, runAndWait, wealthDatabase } from './helpers.js';

// Seed 001's wealth schema in two databases of this file's embedded PostgreSQL: one with planted
// defects (catalog database `wealth`), its clean twin (catalog database `wealth_clean`).

t.test('each rule kind catches exactly the planted rows, and passes on the clean twin', async (t) => {
  const api = await testApp(t);
  await loadCatalog(api);
  const defective = await wealthDatabase(t, { defects: true });
  const clean = await wealthDatabase(t, { defects: false });
  await copyWealthAssets(api, 'wealth_clean');
  await registerConnection(api, 'wealth', defective);
  await registerConnection(api, 'wealth_clean', clean);
  const rules = await createDemoRules(api, 'wealth');
  const cleanRules = await createDemoRules(api, 'wealth_clean');

  const run = await runAndWait(api, '/v1/data-quality-runs', { domain: 'Client' });
  t.equal(run.status, 'complete', 'every rule of the domain ran');
  const inDomain = await api.app.db('data_quality_rules').whereIn('asset_id', api.app.db('assets').select('id').where({ domain: 'Client' })).count('* as n').first();
  t.same(run.progress, { done: Number(inDomain!.n), total: Number(inDomain!.n) }, 'every rule of the domain, both twins and the demo catalog\'s');

  const key = (r: Record<string, any>, column: string) => r.samples.map((s: Record<string, unknown>) => s[column]);
  const ssn = resultOf(run, rules['SSN unique']);
  t.match(ssn, { status: 'failed', rows_checked: CLIENTS, rows_failing: PLANTED.duplicateSsnClients.length, ratio: PLANTED.duplicateSsnClients.length / CLIENTS, complete: true });
  t.same(ssn.samples.map((s: Record<string, unknown>) => s['#rows']), [2, 2], 'two SSNs, each on two clients');
  t.same(key(ssn, 'ssn').sort(), ['***-**-6703', '***-**-6707'], 'duplicate SSNs come back masked by ssn_last4');
  const dob = resultOf(run, rules['born in the past']);
  t.match(dob, { status: 'failed', rows_checked: CLIENTS, rows_failing: 2 });
  t.same(key(dob, 'client_id'), PLANTED.futureBirthClients, 'the clients born in the future, by key');
  t.same(key(dob, 'date_of_birth'), ['[REDACTED]', '[REDACTED]'], 'dates of birth are redacted (their masking rule)');
  t.same(key(resultOf(run, rules['last name present']), 'client_id'), PLANTED.missingLastNameClients);
  t.same(key(resultOf(run, rules['marital status known']), 'client_id'), PLANTED.unknownMaritalStatusClients);
  t.same(key(resultOf(run, rules['marital status known']), 'marital_status'), ['complicated'], 'a non-PII confidential value is shown');

  const more = await runAndWait(api, '/v1/data-quality-runs', { domain: 'Account' });
  const orphans = resultOf(more, rules['account has a client']);
  t.match(orphans, { status: 'failed', rows_checked: ACCOUNTS, rows_failing: PLANTED.orphanAccounts.length });
  t.same(key(orphans, 'account_id'), PLANTED.orphanAccounts);
  const overdrawn = resultOf(more, rules['open accounts not overdrawn']);
  t.match(overdrawn, { status: 'failed', rows_failing: 1 });
  t.same(key(overdrawn, 'account_id'), PLANTED.negativeOpenAccounts);
  const statements = resultOf(more, rules['statements loaded']);
  t.match(statements, { status: 'failed', rows_checked: 0, ratio: null, observed: { rows: 0, reasons: ['fewer than 1 rows'] } }, 'the empty table');

  const invest = await runAndWait(api, '/v1/data-quality-runs', { domain: 'Investment' });
  const prices = resultOf(invest, rules['prices are current']);
  t.match(prices, { status: 'failed', rows_checked: 25, observed: { max_age: 'P1D' } }, 'stale prices');
  t.equal(prices.observed.newest.slice(0, 10), new Date(Date.now() - PLANTED.stalePriceDays * 86_400_000).toISOString().slice(0, 10));

  const emails = await runAndWait(api, `/v1/data-quality-rules/${rules['email well formed'].id}/run`);
  const email = resultOf(emails, rules['email well formed']);
  t.match(email, { status: 'failed', rows_checked: CONTACTS, rows_failing: PLANTED.malformedEmailContacts.length });
  t.same(key(email, 'contact_id'), PLANTED.malformedEmailContacts);
  t.same(key(email, 'email'), ['***', '***', '***@example.com'], 'emails masked by email_domain (a malformed one has no domain to show)');

  // The clean twin: every rule passes.
  for (const rule of Object.values(cleanRules)) {
    const clean = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
    t.match(resultOf(clean, rule), { status: 'passed', rows_failing: 0, samples: [] }, `clean twin: ${rule.name} passes`);
  }

  // Nothing stored by a run holds a clear SSN or email.
  const stored = JSON.stringify([
    await api.app.db('data_quality_results').select('*'),
    await api.app.db('findings').select('*'),
    await api.app.db('evidence_items').where({ kind: 'data_quality' }).select('body'),
  ]);
  for (let id = 1; id <= CLIENTS; id++) t.notOk(stored.includes(ssnOf(id)), `SSN of client ${id} is nowhere in clear`);
  t.notOk(stored.includes('client9@'), 'nor a malformed email');
});

t.test('a failing rule opens a finding that the next complete passing run resolves; runs are evidence', async (t) => {
  const api = await testApp(t);
  await loadCatalog(api);
  const db = await wealthDatabase(t, { defects: true });
  await registerConnection(api, 'wealth', db);
  const rules = await createDemoRules(api, 'wealth');
  const rule = rules['account has a client'];

  const first = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
  const findingId = resultOf(first, rule).finding_id;
  t.ok(findingId, 'the result names its finding');
  const finding = (await api.call('GET', `/v1/findings?rule=catalog.data_quality&status=open`, { as: 'auditor' })).body.items;
  t.equal(finding.length, 1);
  t.match(finding[0], { id: findingId, rule_id: 'catalog.data_quality', severity: 'critical', resource_id: rule.id, resource_type: 'data_quality_rule', controls: ['PI1.2', 'PI1.5'], first_evaluation_id: null });
  t.match(finding[0].msg, /account has a client.*wealth\.accounts\.client_id: 2 of 30 rows fail/);

  // A policy evaluation of a collection run neither resolves it nor counts it as seen.
  await evaluateSnapshot(api, { observed_at: new Date().toISOString(), resources: [], findings: [], lake_formation: { permissions: [] } });
  t.equal((await api.app.db('findings').where({ id: findingId }).first()).status, 'open', 'an evaluation does not resolve a data quality finding');
  // Another rule passing does not touch this finding.
  await runAndWait(api, `/v1/data-quality-rules/${rules['marital status known'].id}/run`);
  t.equal((await api.app.db('findings').where({ id: findingId }).first()).status, 'open');

  // The data is fixed: the next run passes and resolves exactly this finding.
  await db.client.query(`UPDATE accounts SET client_id = 1 WHERE client_id > 900`);
  const second = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
  t.match(resultOf(second, rule), { status: 'passed', finding_id: findingId });
  const metric = () => api.app.db('alert_metric_values').where({ metric: 'data_quality.failures' }).whereRaw("dimensions->>'rule' = ?", [rule.id]).first('value', 'dimensions');
  t.match(await metric(), { value: 0, dimensions: { asset: 'aurora.wealth.accounts', severity: 'critical' } }, 'the alert metric (issue 16) reads 0 once it passes');
  t.match(await api.app.db('findings').where({ id: findingId }).first(), { status: 'resolved' });

  // Broken again: the same finding reopens (one finding per rule).
  await db.client.query(`UPDATE accounts SET client_id = 950 WHERE account_id = 1`);
  const third = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
  t.equal(resultOf(third, rule).finding_id, findingId);
  t.equal(Number((await metric()).value), 1, 'and the rows failing when it fails');
  t.match(await api.app.db('findings').where({ id: findingId }).first(), { status: 'open' });

  const history = await api.call('GET', `/v1/data-quality-rules/${rule.id}/results`, { as: 'auditor' });
  t.equal(history.status, 200);
  t.same(history.body.items.map((r: { status: string }) => r.status), ['failed', 'passed', 'failed'], 'newest first');
  t.match(history.body.trend, { results: 3, passed: 1, failed: 2, latest_ratio: 1 / 30, oldest_ratio: 2 / 30, direction: 'improving' });
  t.same((await api.call('GET', `/v1/data-quality-rules/${rule.id}/results?status=passed`, { as: 'auditor' })).body.items.length, 1);

  const evidence = await api.app.db('evidence_items').where({ kind: 'data_quality', source_id: third.id }).orderBy('control_id').select('control_id', 'body');
  t.same(evidence.map((e) => e.control_id), ['C1.1', 'PI1.2', 'PI1.5'], 'each run is evidence for the criteria it supports');
  t.match(typeof evidence[0].body === 'string' ? JSON.parse(evidence[0].body) : evidence[0].body, { run_id: third.id, status: 'complete', results: [{ rule_id: rule.id, status: 'failed', rows_failing: 1 }] });
  const verify = await api.call('POST', '/v1/evidence/verify', { as: 'auditor', body: {} });
  t.match(verify.body, { ok: true }, 'the chain still verifies');
  const audit = await api.call('GET', `/v1/audit-log?entity=data-quality-runs&entity_id=${third.id}`, { as: 'auditor' });
  t.match(audit.body.items, [{ action: 'run', actor: 'test-steward' }], 'who started the run is audited');
});

t.test('a slow query hits the statement timeout and the run reports it', async (t) => {
  const api = await testApp(t);
  await loadCatalog(api);
  const db = await wealthDatabase(t, { defects: true });
  await registerConnection(api, 'wealth', db, { statement_timeout_ms: 300 });
  const rules = await createDemoRules(api, 'wealth');
  // Another session holds the table: the rule's query waits, and statement_timeout cancels it.
  const holder = new pg.Client({ connectionString: db.url.toString() });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
  const started = Date.now();
  const run = await runAndWait(api, '/v1/data-quality-runs', { domain: 'Account' });
  await holder.query('ROLLBACK');
  t.ok(Date.now() - started < 20_000, 'the run did not wait for the lock');
  t.equal(run.status, 'partial', 'the statements table was checked, the accounts rules were not');
  t.match(resultOf(run, rules['account has a client']), { status: 'error', error: /statement timeout: the query ran longer than 300 ms/, complete: false, finding_id: null });
  t.match(resultOf(run, rules['statements loaded']), { status: 'failed' });
  t.match(run.error, /statement timeout/);
  t.equal(await api.app.db('findings').where({ resource_id: rules['account has a client'].id }).first(), undefined, 'an errored rule opens no finding');
});

t.test('SQL injection in parameters and predicates is refused or bound', async (t) => {
  const api = await testApp(t);
  await loadCatalog(api);
  const db = await wealthDatabase(t, { defects: true });
  await registerConnection(api, 'wealth', db);
  const accounts = await assetId(api, 'wealth', 'accounts');
  const clients = await assetId(api, 'wealth', 'clients');
  const rule = (body: Record<string, unknown>) => api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: accounts, name: `r${Math.random()}`, severity: 'low', ...body } });
  const refused = async (body: Record<string, unknown>, field: string, message: RegExp, why: string) => {
    const response = await rule(body);
    t.equal(response.status, 400, `${why}: 400`);
    t.match(response.body.errors, [{ field, message }], `${why}: names ${field}`);
  };

  for (const [sql, message] of [
    ['account_balance >= 0; DROP TABLE accounts', /without comments or statement separators/],
    ['account_balance >= 0 -- and the rest', /without comments/],
    ['account_balance >= 0 /* x */', /without comments/],
    ['(SELECT count(*) FROM pg_shadow) > 0', /subquery/],
    ['account_id IN (SELECT client_id FROM clients)', /subquery/],
    ['pg_sleep(10) IS NULL', /calls pg_sleep, which is not an allowed function/],
    ["current_setting('is_superuser') = 'on'", /calls current_setting/],
    ["set_config('statement_timeout', '0', false) = '0'", /calls set_config/],
    ['pg_catalog.lower(account_status) = \'open\'', /calls pg_catalog\.lower/],
    ['clients.ssn IS NULL', /may only name the asset's own columns/],
    ['ssn IS NULL', /names ssn, which is not a column of the asset/],
    ['count(*) > 0', /not an allowed function|not allowed/],
    ['account_balance::regclass IS NULL', /casts to regclass/],
    ["account_balance >= 0) OR (1=1", /./],
    ['DROP TABLE accounts', /not a SQL expression/],
  ] as const) {
    await refused({ rule_type: 'custom_sql', definition: { sql } }, 'definition.sql', message, sql);
  }
  await refused({ column_name: 'account_balance', rule_type: 'range', definition: { min: '0; DROP TABLE accounts' } }, 'definition.min', /must be a number/, 'a range bound');
  await refused({ column_name: 'account_status', rule_type: 'format', definition: { regex: '(a+)+$' } }, 'definition.regex', /nested quantifiers/, 'a catastrophic regex');
  await refused({ column_name: 'account_status', rule_type: 'unique', definition: { columns: ['account_id"; DROP TABLE accounts; --'] } }, 'definition.columns[0]', /no column/, 'a column name');
  await refused({ column_name: 'client_id', rule_type: 'referential', definition: { references: 'clients.client_id; DROP TABLE x' } }, 'definition.references', /table\.column/, 'a reference');
  await refused({ column_name: 'account_status', rule_type: 'freshness', definition: { max_age: "1 day'; DROP TABLE accounts; --" } }, 'definition.max_age', /ISO 8601 period/, 'a period');

  // What a parameter may hold is bound, so it is data, never SQL.
  const hostile = "open'); DROP TABLE accounts; --";
  const bound = await create(api, '/v1/data-quality-rules', { asset_id: accounts, column_name: 'account_status', name: 'status bound', rule_type: 'allowed_values', severity: 'low', definition: { values: ['open', hostile] } }, 'steward');
  const literal = await create(api, '/v1/data-quality-rules', { asset_id: accounts, name: 'literal bound', rule_type: 'custom_sql', severity: 'low', definition: { sql: `account_status <> '${hostile.replace(/'/g, "''")}'` } }, 'steward');
  const regex = await create(api, '/v1/data-quality-rules', { asset_id: clients, column_name: 'marital_status', name: 'regex bound', rule_type: 'format', severity: 'low', definition: { regex: "^[a-z]+$|'; DROP TABLE clients; --" } }, 'steward');
  for (const r of [bound, literal, regex]) {
    const run = await runAndWait(api, `/v1/data-quality-rules/${r.id}/run`);
    t.not(resultOf(run, r).status, 'error', `${r.name} ran: ${resultOf(run, r).error ?? ''}`);
  }
  t.match(resultOf(await runAndWait(api, `/v1/data-quality-rules/${bound.id}/run`), bound), { status: 'passed', rows_checked: ACCOUNTS });
  t.equal((await db.client.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n, ACCOUNTS, 'accounts is still there');
  t.equal((await db.client.query('SELECT count(*)::int AS n FROM clients')).rows[0].n, CLIENTS, 'clients is still there');
});

t.test('connections: settings validated, credentials by reference only, failures named', async (t) => {
  const api = await testApp(t);
  await loadCatalog(api);
  const bad = async (settings: Record<string, unknown>, field: string) => {
    const response = await api.call('POST', '/v1/data-quality-connections', { body: { name: `c${Math.random()}`, store: 'aurora', database: 'wealth', settings } });
    t.equal(response.status, 400, `${JSON.stringify(settings)}: 400`);
    t.ok(response.body.errors.some((e: { field: string }) => e.field === field), `names ${field}: ${JSON.stringify(response.body.errors)}`);
  };
  const base = { host: 'db.example', dbname: 'wealth', credential: { env: 'CUSTOS_DQ_X' } };
  await bad({ ...base, password: 'hunter2' }, 'settings.password');
  await bad({ ...base, credential: { password: 'hunter2' } }, 'settings.credential');
  await bad({ ...base, credential: { env: 'DATABASE_URL' } }, 'settings.credential');
  await bad({ ...base, credential: { secret_arn: 'not-an-arn' } }, 'settings.credential');
  await bad({ ...base, host: 'db.example; rm -rf /' }, 'settings.host');
  await bad({ ...base, statement_timeout_ms: 0 }, 'settings.statement_timeout_ms');
  await bad({ dbname: 'wealth', credential: { env: 'CUSTOS_DQ_X' } }, 'settings.host');
  const steward = await api.call('POST', '/v1/data-quality-connections', { as: 'steward', body: { name: 'x', store: 'aurora', database: 'wealth', settings: base } });
  t.equal(steward.status, 403, 'an admin registers connections: they decide where credentials go');

  const made = await create(api, '/v1/data-quality-connections', { name: 'wealth-pg', store: 'aurora', database: 'wealth', settings: { ...base, port: 1 } });
  t.match(made.settings, { port: 1, schema: 'public', tls: true, statement_timeout_ms: 30_000, sample_size: 10 }, 'defaults are stored');
  const twice = await api.call('POST', '/v1/data-quality-connections', { body: { name: 'other', store: 'aurora', database: 'wealth', settings: base } });
  t.equal(twice.status, 409, 'one connection per catalog database');

  const clients = await assetId(api, 'wealth', 'clients');
  const rule = await create(api, '/v1/data-quality-rules', { asset_id: clients, column_name: 'ssn', name: 'ssn', rule_type: 'unique', severity: 'critical' }, 'steward');
  delete process.env.CUSTOS_DQ_X;
  const run = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
  t.match(run, { status: 'failed', error: 'connection wealth-pg: environment variable CUSTOS_DQ_X is not set' });
  t.match(resultOf(run, rule), { status: 'error', finding_id: null });

  process.env.CUSTOS_DQ_X = 'x';
  const refused = await runAndWait(api, `/v1/data-quality-rules/${rule.id}/run`);
  t.match(refused.error, /connection wealth-pg: cannot connect to db\.example:1\/wealth/);
  delete process.env.CUSTOS_DQ_X;

  const ledger = await create(api, '/v1/assets', { store: 'snowflake', database: 'finance', table: 'ledger', domain: 'Account', columns: [{ name: 'id', data_type: 'int', classification: 'internal' }] });
  const orphan = await create(api, '/v1/data-quality-rules', { asset_id: ledger.id, name: 'rows', rule_type: 'row_count', severity: 'low', definition: { min: 1 } }, 'steward');
  const none = await runAndWait(api, `/v1/data-quality-rules/${orphan.id}/run`);
  t.match(none, { status: 'failed', error: 'no data quality connection is registered for snowflake database finance' });
  t.equal(await api.app.db('findings').count('* as n').first().then((r) => Number(r!.n)), 0, 'runs that could not reach a store open and resolve nothing');

  const runs = await api.call('GET', '/v1/data-quality-runs?status=failed', { as: 'auditor' });
  t.equal(runs.body.items.length, 3);
  t.equal((await api.call('POST', `/v1/data-quality-runs`, { as: 'steward', body: {} })).status, 400, 'a scope is required');
  t.equal((await api.call('POST', `/v1/data-quality-runs`, { as: 'steward', body: { domain: 'Nope' } })).status, 400);
  t.equal((await api.call('POST', `/v1/data-quality-runs`, { as: 'steward', body: { domain: 'Trust Management' } })).status, 409, 'no rules there');
  t.equal((await api.call('POST', `/v1/data-quality-rules/${rule.id}/run`, { as: 'auditor', body: {} })).status, 403);
  t.equal((await api.call('GET', `/v1/data-quality-runs/01900000-0000-7000-8000-000000000000`, { as: 'auditor' })).status, 404);
});
