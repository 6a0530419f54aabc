/**
 * Metric scenarios: each alert fires on the state it watches and resolves when that state clears
 * (evaluated directly with evaluateAlerts; delivery is covered by delivery.test.ts).
 */
import t from 'tap';
import { evaluateAlerts } from '../../src/alerts/evaluate.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { create, evaluateSnapshot, testApp, type TestApp } from '../helpers/app.js';

const channel = [{ type: 'email', address: 'secops@bank.example' }];
const events = async (api: TestApp, alertId: string, state: string) => (await api.call('GET', `/v1/alert-events?alert_id=${alertId}&state=${state}&limit=500`, { as: 'auditor' })).body.items;

t.test('metrics fire and resolve', async (t) => {
  const api = await testApp(t);
  const evaluate = () => evaluateAlerts(api.app.alerts.evaluationContext());

  t.test('reviews.due: a compliance record due within the window, then moved out of it', async (t) => {
    const alert = await create(api, '/v1/alerts', { name: 'Reviews due', metric: 'reviews.due', comparison: 'gt', threshold: 0, severity: 'low', window_minutes: 7 * 24 * 60, dimension_filter: { kind: 'compliance_record' }, notification_channels: channel }, 'compliance_officer');
    const soon = new Date(Date.now() + 2 * 86400_000).toISOString().slice(0, 10);
    const record = await create(api, '/v1/compliance-records', { regulation: 'GLBA', requirement_id: '314.4(d)', title: 'Risk assessment', status: 'compliant', next_review_date: soon, responsible_party: 'ciso@bank.example' }, 'compliance_officer');
    await evaluate();
    const [open] = await events(api, alert.id, 'open');
    t.match(open, { dimensions: { kind: 'compliance_record' }, value: 1, links: [{ rel: 'compliance_record', href: `/v1/compliance-records/${record.id}` }] });
    const later = new Date(Date.now() + 60 * 86400_000).toISOString().slice(0, 10);
    t.equal((await api.call('PATCH', `/v1/compliance-records/${record.id}`, { as: 'compliance_officer', body: { next_review_date: later }, headers: { 'if-match': '"1"' } })).status, 200);
    await evaluate();
    t.equal((await events(api, alert.id, 'open')).length, 0);
    t.equal((await events(api, alert.id, 'resolved')).length, 1);
  });

  t.test('access.denied_rate per principal: a spike of denials fires; it resolves once the window has passed', async (t) => {
    const alert = await create(api, '/v1/alerts', { name: 'Denials', metric: 'access.denied_rate', comparison: 'gt', threshold: 0.5, severity: 'high', window_minutes: 5, group_by: ['principal'], notification_channels: channel }, 'compliance_officer');
    const count = await create(api, '/v1/alerts', { name: 'Denied reads of clients', metric: 'access.denied', comparison: 'gte', threshold: 3, severity: 'high', window_minutes: 5, dimension_filter: { table: 'aurora.wealth.clients' }, notification_channels: channel }, 'compliance_officer');
    const principal = 'arn:aws:iam::111122223333:role/unknown-etl';
    const decided = await api.call('POST', '/v1/access/decisions:batch', { as: 'pipeline', body: { checks: Array.from({ length: 3 }, () => ({ principal, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'clients', columns: ['ssn'] }, purpose: 'test' })) } });
    t.equal(decided.status, 200, JSON.stringify(decided.body).slice(0, 300));
    await api.app.alerts.decisions.flush(api.app.db);
    await evaluate();
    const [open] = await events(api, alert.id, 'open');
    t.match(open, { dimensions: { principal }, value: 1 });
    t.match(await events(api, count.id, 'open'), [{ dimensions: { principal, table: 'aurora.wealth.clients' }, value: 3 }], 'access.denied: three denied reads');
    // Five minutes later the counters are outside the window.
    await api.app.db('alert_metric_counts').update({ bucket: new Date(Date.now() - 10 * 60_000) });
    await evaluate();
    t.equal((await events(api, alert.id, 'open')).length, 0);
    t.match((await events(api, alert.id, 'resolved'))[0], { value: 0 });
    t.equal((await events(api, count.id, 'open')).length, 0);
    t.equal((await events(api, count.id, 'resolved')).length, 1, 'access.denied resolves too');
  });

  t.test('controls.status and findings.open on the demo estate; disabling the alert closes what it opened', async (t) => {
    const controls = await create(api, '/v1/alerts', { name: 'Failing controls', metric: 'controls.status', comparison: 'gt', threshold: 0, severity: 'high', dimension_filter: { status: 'failing' }, notification_channels: channel }, 'compliance_officer');
    const findings = await create(api, '/v1/alerts', { name: 'High findings', metric: 'findings.open', comparison: 'gte', threshold: 1, severity: 'high', dimension_filter: { severity: 'high' }, group_by: ['severity'], notification_channels: channel }, 'compliance_officer');
    await evaluateSnapshot(api, wealthEstate);
    await evaluate();
    const failing = (await api.call('GET', '/v1/controls?status=failing', { as: 'auditor' })).body.items.map((c: { id: string }) => c.id).sort();
    t.ok(failing.length > 0, `the demo estate fails controls (${failing.join(', ')})`);
    t.same((await events(api, controls.id, 'open')).map((e: { dimensions: { control: string } }) => e.dimensions.control).sort(), failing, 'one open alert per failing control');
    const high = (await api.call('GET', '/v1/findings?severity=high&status=open&limit=500', { as: 'auditor' })).body.items.length;
    t.match(await events(api, findings.id, 'open'), [{ dimensions: { severity: 'high' }, value: high }]);
    t.equal((await api.call('PATCH', `/v1/alerts/${controls.id}`, { as: 'compliance_officer', body: { enabled: false }, headers: { 'if-match': '"1"' } })).status, 200);
    await evaluate();
    t.equal((await events(api, controls.id, 'open')).length, 0);
    t.equal((await events(api, controls.id, 'closed')).length, failing.length, 'closed, without a notification');
  });
});
