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
