import t from 'tap';
import { cusipValid, isinValid, periodMs, regexProblem } from '../../src/data-quality/kinds.js';
import { checkPredicate, compilePredicate } from '../../src/data-quality/predicate.js';
import { queueScheduledRuns } from '../../src/data-quality/schedule.js';
import { create, testApp } from '../helpers/app.js';
import { registerConnection, resultOf, runAndWait, wealthDatabase } from './helpers.js';

t.test('check digits, periods, bounded regexes, predicates rendered with bound literals', async (t) => {
  for (const ok of ['037833100', '594918104', '38259P508']) t.ok(cusipValid(ok), `CUSIP ${ok}`);
  for (const bad of ['037833101', '03783310', '03783310X', '']) t.notOk(cusipValid(bad), `not a CUSIP: ${bad}`);
  for (const ok of ['US0378331005', 'US5949181045', 'GB0002634946']) t.ok(isinValid(ok), `ISIN ${ok}`);
  for (const bad of ['US0378331006', 'US037833100', '120378331005']) t.notOk(isinValid(bad), `not an ISIN: ${bad}`);
  t.equal(periodMs('P1D'), 86_400_000);
  t.equal(periodMs('PT26H'), 26 * 3_600_000);
  t.equal(periodMs('P1W'), 7 * 86_400_000);
  t.equal(regexProblem('^[A-Z]{3}$'), undefined);
  t.match(regexProblem('(a+)+b'), /nested/);
  t.match(regexProblem('(x*)*'), /nested/);
  t.match(regexProblem('(a)\\1'), /back-references/);
  t.match(regexProblem('x'.repeat(201)), /too long/);

  const columns = ['balance', 'status', 'Odd Name'];
  const compiled = compilePredicate(checkPredicate(`balance >= 10.5 AND status IN ('open', 'it''s') AND "Odd Name" IS NOT NULL`, columns), columns, 3, 't.');
  t.equal(compiled.sql, `(((t."balance" >= $3::numeric) AND (t."status" IN ($4::text, $5::text))) AND (t."Odd Name" IS NOT NULL))`, 'identifiers quoted from the catalog, literals as parameters');
  t.same(compiled.values, ['10.5', 'open', "it's"]);
});

t.test('named formats push down: CUSIP and ISIN check digits, ISO country codes', async (t) => {
  const api = await testApp(t);
  const db = await wealthDatabase(t, { defects: false });
  await db.client.query(`CREATE TABLE security_identifiers (security_id int PRIMARY KEY, cusip text, isin text, country text)`);
  await db.client.query(`INSERT INTO security_identifiers VALUES
    (1, '037833100', 'US0378331005', 'US'), (2, '594918104', 'US5949181045', 'GB'), (3, '38259P508', 'GB0002634946', 'DE'),
    (4, '037833101', 'US0378331006', 'XX'), (5, 'ABC', 'US037833100', 'usa'), (6, NULL, NULL, NULL)`);
  await db.client.query(`GRANT SELECT ON security_identifiers TO ${db.role}`);
  await create(api, '/v1/domains', { name: 'Investment', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const asset = await create(api, '/v1/assets', {
    store: 'aurora',
    database: 'wealth',
    table: 'security_identifiers',
    domain: 'Investment',
    columns: ['security_id', 'cusip', 'isin', 'country'].map((name) => ({ name, data_type: 'text', classification: 'public' })),
  });
  await registerConnection(api, 'wealth', db);
  const rule = (column: string, pattern: string) =>
    create(api, '/v1/data-quality-rules', { asset_id: asset.id, column_name: column, name: `${column} ${pattern}`, rule_type: 'format', severity: 'low', definition: { pattern } }, 'steward');
  const rules = [await rule('cusip', 'cusip'), await rule('isin', 'isin'), await rule('country', 'iso_country')];
  const bad = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: asset.id, column_name: 'isin', name: 'x', rule_type: 'format', severity: 'low', definition: { pattern: 'iban' } } });
  t.equal(bad.status, 400);
  t.match(bad.body.errors, [{ field: 'definition.pattern', message: /email, iso_country, cusip, isin/ }]);
  const both = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: asset.id, column_name: 'isin', name: 'x', rule_type: 'format', severity: 'low', definition: { pattern: 'isin', regex: '^x$' } } });
  t.match(both.body.errors, [{ field: 'definition', message: /either a named pattern/ }]);

  const run = await runAndWait(api, '/v1/data-quality-runs', { asset_id: asset.id });
  t.equal(run.status, 'complete');
  for (const r of rules) {
    const result = resultOf(run, r);
    t.match(result, { status: 'failed', rows_checked: 6, rows_failing: 2 }, `${r.name}: rows 4 and 5 (a null is not_null's business)`);
    t.same(result.samples.map((s: { security_id: string }) => s.security_id), ['4', '5']);
  }
});

t.test('rules with a cron are queued once per occurrence', async (t) => {
  const api = await testApp(t, { workers: false });
  await create(api, '/v1/domains', { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'monthly' });
  const asset = await create(api, '/v1/assets', { store: 'aurora', database: 'wealth', table: 'clients', domain: 'Client', columns: [{ name: 'client_id', data_type: 'int', classification: 'internal' }] });
  const bad = await api.call('POST', '/v1/data-quality-rules', { as: 'steward', body: { asset_id: asset.id, name: 'x', rule_type: 'row_count', severity: 'low', definition: { min: 1 }, schedule: 'every morning' } });
  t.equal(bad.status, 400);
  t.match(bad.body.errors, [{ field: 'schedule', message: /cron expression/ }]);
  const rule = await create(api, '/v1/data-quality-rules', { asset_id: asset.id, name: 'hourly', rule_type: 'row_count', severity: 'low', definition: { min: 1 }, schedule: '0 * * * *' }, 'steward');
  await create(api, '/v1/data-quality-rules', { asset_id: asset.id, name: 'on demand', rule_type: 'row_count', severity: 'low', definition: { min: 1 } }, 'steward');
  await api.app.db('data_quality_rules').where({ id: rule.id }).update({ created_at: new Date('2026-01-01T09:30:00Z') });
  const sent: string[] = [];
  const context = { db: api.app.db, aws: {}, enqueue: async (_trx: unknown, _queue: string, id: string) => void sent.push(id) };
  const first = await queueScheduledRuns(context, new Date('2026-01-01T10:05:00Z'));
  t.equal(first.length, 1, 'the 10:00 occurrence after creation at 09:30');
  t.same(sent, first, 'and its job is queued');
  t.same(await queueScheduledRuns(context, new Date('2026-01-01T10:45:00Z')), [], 'not again before 11:00');
  t.equal((await queueScheduledRuns(context, new Date('2026-01-01T11:00:30Z'))).length, 1, 'the next occurrence');
  const runs = await api.app.db('data_quality_runs').select('trigger', 'scope', 'requested_by');
  t.match(runs, [{ trigger: 'schedule', scope: { rule_id: rule.id, schedule: true }, requested_by: 'system:schedule' }, { trigger: 'schedule' }]);
});
