import t from 'tap';
import { testApp } from '../helpers/app.js';

// GET /v1/overview carries the overview's pass-rate trend, so the console's first page is one request
// of aggregates instead of one history request per control (npm run bench:console measures it).
t.test('the overview gives the pass rate of each day with a complete evaluation, over every control', async (t) => {
  const api = await testApp(t, { demo: true });
  const overview = await api.call('GET', '/v1/overview', { as: 'auditor' });
  t.equal(overview.status, 200);
  const controls = (await api.call('GET', '/v1/controls?limit=500')).body.items as Array<{ id: string; status: string }>;
  const today = new Date().toISOString().slice(0, 10);
  // The demo estate is collected and evaluated once, today: its statuses are today's.
  const passing = controls.filter((c) => c.status === 'passing').length;
  t.same(overview.body.pass_rate_30d, [{ day: today, rate: Math.round((100 * passing) / controls.length), controls: controls.length }]);
  t.ok(passing < controls.length, 'not every control passes: the rate is not a constant 100');
  // Each control's own history agrees with the trend's day.
  const history = await api.call('GET', `/v1/controls/${encodeURIComponent(controls[0]!.id)}/history`);
  t.equal(history.body.items.at(-1).at.slice(0, 10), today);
});

t.test('without an evaluation in the last 30 days there is no day in the trend (nothing reported as passing)', async (t) => {
  const api = await testApp(t);
  const overview = await api.call('GET', '/v1/overview');
  t.equal(overview.status, 200);
  t.same(overview.body.pass_rate_30d, []);
});

t.test('what waits for me: pending changes the caller may approve, never their own', async (t) => {
  const api = await testApp(t, { demo: true });
  const assets = (await api.call('GET', '/v1/assets?limit=50')).body.items as Array<{ id: string; columns: Array<{ name: string; classification: string }> }>;
  const asset = assets.find((a) => a.columns.some((c) => c.classification !== 'public'))!;
  const column = asset.columns.find((c) => c.classification !== 'public')!;
  const current = await api.call('GET', `/v1/assets/${asset.id}`);
  const proposed = await api.call('PATCH', `/v1/assets/${asset.id}/columns/${column.name}`, { as: 'steward', body: { classification: 'public' }, headers: { 'if-match': current.headers.etag } });
  t.equal(proposed.status, 202, 'lowering a classification is a pending change');
  const waiting = async (as: 'steward' | 'compliance_officer' | 'auditor') => (await api.call('GET', '/v1/overview', { as })).body.waiting.pending_changes_for_me;
  t.equal(await waiting('steward'), 0, 'the proposer: not for them');
  t.equal(await waiting('compliance_officer'), 1, 'a compliance officer may approve it');
  t.equal(await waiting('auditor'), 0, 'an auditor may not');
});
