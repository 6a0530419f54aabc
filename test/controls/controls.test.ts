import fs from 'node:fs/promises';
import t from 'tap';
import { CatalogError, loadShippedCatalog, unknownControls, validateCatalog } from '../../src/controls/catalog.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { loadDemoData } from '../../src/demo/load.js';
import { readBundle } from '../../src/policy/bundle.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { SHIPPED } from '../helpers/bundles.js';
import { evaluateSnapshot, testApp, type TestApp } from '../helpers/app.js';

t.test('the catalog is strict data, and the rules agree with it', async (t) => {
  const catalog = loadShippedCatalog();
  t.equal(catalog.controls.length, 38, 'CC1.1–CC9.2, A1.1–A1.3, C1.1–C1.2');
  t.same(catalog.controls.filter((c) => c.automation === 'automated').map((c) => c.id), ['CC6.1', 'CC6.6', 'CC7.2', 'A1.2', 'C1.1', 'C1.2']);
  const rules = (await PolicyEngine.load(await readBundle(await fs.readFile(SHIPPED)))).rules();
  t.same(unknownControls(catalog, rules), [], 'every control a rule names is in the catalog');
  for (const control of catalog.controls.filter((c) => c.automation === 'automated')) {
    t.ok(rules.some((r) => r.controls.includes(control.id)), `${control.id} is automated and some rule tests it`);
  }
  t.same(unknownControls(catalog, [{ id: 'x.y', controls: ['CC6.1', 'CC12.9'] }]), ['CC12.9 (rule x.y)']);

  const twice = { ...catalog, controls: [...catalog.controls, catalog.controls[0]] };
  t.throws(() => validateCatalog(twice), /duplicate control id CC1.1/);
  t.throws(() => validateCatalog({ ...catalog, controls: [{ ...catalog.controls[0], id: 'CC10.1' }] }), /must match pattern/);
  const unknownEvidence = () => validateCatalog({ ...catalog, controls: [{ ...catalog.controls[0], evidence: ['screenshots'] }] });
  t.throws(unknownEvidence, /control catalog is invalid: \/controls\/0\/evidence\/0/);
  try {
    unknownEvidence();
  } catch (error) {
    t.ok(error instanceof CatalogError, 'a CatalogError');
  }
  t.throws(() => validateCatalog({ ...catalog, extra: true }), /must NOT have additional properties/);
});

const evaluate = evaluateSnapshot;

const control = async (api: TestApp, id: string) => (await api.call('GET', `/v1/controls/${id}`, { as: 'auditor' })).body;

t.test('status per control from the latest evaluation, with reasons and history', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);

  t.match(await control(api, 'CC6.6'), { status: 'not_tested', reason: 'no evaluation has run yet' });
  t.match(await control(api, 'CC1.1'), { status: 'manual', automation: 'manual' });
  t.match(await control(api, 'CC6.1'), { owner: 'ciso@bank.example', last_review_date: '2026-08-15', next_review_date: '2026-11-15' });

  await evaluate(api, wealthEstate);
  const cc66 = await control(api, 'CC6.6');
  t.match(cc66, { status: 'failing', open_findings: 2, rules: ['s3.bucket_public_read', 's3.bucket_public_write'] });
  t.same(cc66.failing_findings.map((f: { resource_id: string }) => f.resource_id).sort(), ['wealth-analytics-exports', 'wealth-client-documents']);

  // A clean estate: CC6.6 passes; the catalog's own PII findings keep CC6.1 failing.
  const clean = { observed_at: '2026-11-21T06:00:00.000Z', resources: [], findings: [], lake_formation: { permissions: [] } };
  await evaluate(api, clean);
  t.match(await control(api, 'CC6.6'), { status: 'passing', open_findings: 0, failing_findings: [] });
  t.match(await control(api, 'CC6.1'), { status: 'failing' });

  const history = await api.call('GET', '/v1/controls/CC6.6/history', { as: 'auditor' });
  t.same(history.body.items.map((i: { status: string }) => i.status), ['failing', 'passing']);
  t.equal((await api.call('GET', '/v1/controls/CC6.6/history?from=2999-01-01T00:00:00Z&to=2999-02-01T00:00:00Z')).body.items.length, 0);

  const list = await api.call('GET', '/v1/controls?status=manual', { as: 'steward' });
  t.equal(list.body.items.length, 25);
  t.equal((await api.call('GET', '/v1/controls/CC99.1')).status, 400);
  t.equal((await api.call('GET', '/v1/controls/CC9.9')).status, 404, 'well-formed but not in the catalog');

  // Data that was only partly read is never reported compliant.
  await api.app.db('evaluations').update({ run_partial: true }).where({ id: history.body.items[1].evaluation_id });
  t.match(await control(api, 'CC6.6'), { status: 'not_tested', reason: /partial collection run/ });
});

t.test('Type II coverage: days tested in a period, and the gaps', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  const clean = { observed_at: '2026-11-21T06:00:00.000Z', resources: [], findings: [], lake_formation: { permissions: [] } };
  const first = await evaluate(api, wealthEstate);
  const second = await evaluate(api, clean);
  const third = await evaluate(api, clean);
  // Place the evaluations on chosen days: failing on the 2nd, passing on the 3rd, partial on the 6th.
  await api.app.db('evaluations').update({ finished_at: '2026-10-02T10:00:00Z' }).where({ id: first.id });
  await api.app.db('evaluations').update({ finished_at: '2026-10-03T10:00:00Z' }).where({ id: second.id });
  await api.app.db('evaluations').update({ finished_at: '2026-10-06T10:00:00Z', run_partial: true }).where({ id: third.id });

  const period = 'from=2026-10-01T00:00:00Z&to=2026-10-08T00:00:00Z';
  const coverage = await api.call('GET', `/v1/controls/CC6.6/coverage?${period}`, { as: 'auditor' });
  t.equal(coverage.status, 200);
  t.match(coverage.body, { control_id: 'CC6.6', days_in_period: 7, days_tested: 2, days_passing: 1, coverage: 0.2857 });
  t.same(coverage.body.days.map((d: { result: string }) => d.result), ['none', 'failing', 'passing', 'none', 'none', 'partial', 'none']);
  t.same(coverage.body.gaps, [
    { from: '2026-10-01', to: '2026-10-01', days: 1, reason: 'no complete evaluation' },
    { from: '2026-10-04', to: '2026-10-05', days: 2, reason: 'no complete evaluation' },
    { from: '2026-10-06', to: '2026-10-06', days: 1, reason: 'partial collection: the evaluations that day used incomplete data' },
    { from: '2026-10-07', to: '2026-10-07', days: 1, reason: 'no complete evaluation' },
  ]);
  const history = await api.call('GET', `/v1/controls/CC6.6/history?${period}`, { as: 'auditor' });
  t.same(history.body.items.map((i: { status: string }) => i.status), ['failing', 'passing', 'not_tested']);

  // Days still to come are neither tested nor gaps.
  const today = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.parse(today) - 2 * 86_400_000).toISOString();
  const later = new Date(Date.parse(today) + 5 * 86_400_000).toISOString();
  const ahead = (await api.call('GET', `/v1/controls/CC6.6/coverage?from=${start}&to=${later}`, { as: 'auditor' })).body;
  t.equal(ahead.days_in_period, 3, 'two days ago, yesterday and today');
  t.equal(ahead.days.at(-1).date, today);

  const manual = await api.call('GET', `/v1/controls/CC1.1/coverage?${period}`, { as: 'auditor' });
  t.match(manual.body, { days_tested: 0, coverage: 0, gaps: [] }, 'manual controls are attested, not tested');

  const backwards = await api.call('GET', '/v1/controls/CC6.6/coverage?from=2026-10-08T00:00:00Z&to=2026-10-01T00:00:00Z');
  t.match(backwards, { status: 400, body: { errors: [{ field: 'to' }] } });
  const tooLong = await api.call('GET', '/v1/controls/CC6.6/coverage?from=2020-01-01T00:00:00Z&to=2026-10-01T00:00:00Z');
  t.match(tooLong, { status: 400, body: { errors: [{ field: 'from' }] } });
  t.equal((await api.call('GET', `/v1/controls/CC6.6/coverage?${period}`, { as: 'pipeline' })).status, 403);
});
