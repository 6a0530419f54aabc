/**
 * Alerts evaluated on events and delivered: a metric fires once per configuration and dimension key,
 * stays one open alert while it holds, can be muted (audited), and resolves with a resolve notice.
 * Scenarios: data quality failures pushed through recordMetricEvent, and the demo estate's critical
 * findings after its evaluation.
 */
import t from 'tap';
import { evaluateAlerts } from '../../src/alerts/evaluate.js';
import { recordMetricEvent } from '../../src/alerts/metric-events.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { create, evaluateSnapshot, testApp, waitFor } from '../helpers/app.js';
import { startReceiver, testCertificate } from '../helpers/webhook-receiver.js';

t.test('an alert fires once, is muted, and resolves with a notice; each message signed with its event id', async (t) => {
  const { certFile } = await testCertificate();
  const api = await testApp(t, { config: { webhookAllowHosts: ['127.0.0.1'], webhookCaFile: certFile, alertRetryBaseMs: 200, publicUrl: 'https://custos.bank.example' } });
  const receiver = await startReceiver(t);
  const alert = await create(api, '/v1/alerts', { name: 'DQ', metric: 'data_quality.failures', comparison: 'gt', threshold: 0, severity: 'high', renotify_minutes: 1, notification_channels: [{ type: 'webhook', url: receiver.url }] }, 'compliance_officer');
  receiver.trust(alert.notification_channels[0].secret);
  const dims = { rule: 'ssn-format', asset: 'aurora.wealth.clients', severity: 'high' };
  const messages = (type: string) => [...receiver.processed.values()].filter((d) => d.body.type === type);

  await api.app.db.transaction((trx) => recordMetricEvent(trx, { metric: 'data_quality.failures', dimensions: dims, value: 7, links: [{ rel: 'data_quality_rule', href: '/v1/data-quality-rules/x' }] }));
  const fired = await waitFor(async () => messages('alert.fired')[0], 'the fired message (evaluated on the metric event)');
  t.ok(fired.verified);
  t.equal(fired.body.event_id, fired.id, 'the payload carries the event id of the webhook-id header');
  t.match(fired.body, { alert: { id: alert.id, metric: 'data_quality.failures' }, alert_event: { state: 'open', value: 7, dimensions: dims } });
  t.same(fired.body.links.map((l: { rel: string }) => l.rel), ['alert_event', 'data_quality_rule']);
  t.match(fired.body.links[1].href, 'https://custos.bank.example/v1/data-quality-rules/x');

  // Evaluating again while it holds opens nothing new.
  const again = await evaluateAlerts(api.app.alerts.evaluationContext());
  t.same(again, { opened: 0, resolved: 0, renotified: 0 });
  const open = (await api.call('GET', `/v1/alert-events?alert_id=${alert.id}&state=open`, { as: 'auditor' })).body.items;
  t.equal(open.length, 1, 'one open alert per configuration and dimension key');

  // Muted with a reason (audited): no re-notification although renotify_minutes has passed.
  t.equal((await api.call('POST', `/v1/alert-events/${open[0].id}/mute`, { as: 'auditor', body: { reason: 'known' } })).status, 403);
  const muted = await api.call('POST', `/v1/alert-events/${open[0].id}/mute`, { as: 'compliance_officer', body: { reason: 'fix scheduled for the weekend' } });
  t.equal(muted.status, 200);
  t.match(muted.body, { mute_reason: 'fix scheduled for the weekend', muted_by: 'test-compliance_officer' });
  await api.app.db('alert_events').update({ last_notified_at: new Date(Date.now() - 120_000) }).where({ id: open[0].id });
  t.same(await evaluateAlerts(api.app.alerts.evaluationContext()), { opened: 0, resolved: 0, renotified: 0 }, 'muted: not re-notified');
  t.equal((await api.call('GET', `/v1/audit-log?entity=alert-events&entity_id=${open[0].id}&action=mute`)).body.items.length, 1, 'the mute is audited');
  t.equal((await api.call('POST', `/v1/alert-events/${open[0].id}/unmute`, { as: 'compliance_officer', body: { reason: 'weekend over' } })).status, 200);
  // The unmute's audit row already queues an evaluation; whichever runs first re-notifies, once.
  await evaluateAlerts(api.app.alerts.evaluationContext());
  await waitFor(async () => messages('alert.renotified')[0], 'the re-notification');

  // The rule passes: the alert resolves and a resolve notice goes out.
  await api.app.db.transaction((trx) => recordMetricEvent(trx, { metric: 'data_quality.failures', dimensions: dims, value: 0 }));
  const resolved = await waitFor(async () => messages('alert.resolved')[0], 'the resolve notice');
  t.match(resolved.body, { alert_event: { id: open[0].id, state: 'resolved', value: 0 } });
  const event = (await api.call('GET', `/v1/alert-events/${open[0].id}`, { as: 'auditor' })).body;
  t.equal(event.state, 'resolved');
  t.same(event.history.map((h: { kind: string }) => h.kind), ['fired', 'muted', 'unmuted', 'renotified', 'resolved']);
  t.equal(new Set([...receiver.processed.keys()]).size, 3, 'three messages, three event ids');
  const log = (await api.call('GET', `/v1/notifications?alert_event_id=${open[0].id}`, { as: 'auditor' })).body.items;
  t.same(log.map((n: { kind: string }) => n.kind).sort(), ['fired', 'renotified', 'resolved']);

  // Paging and filters.
  const page = await api.call('GET', '/v1/alert-events?limit=1&state=resolved', { as: 'auditor' });
  t.equal(page.body.items.length, 1);
  t.equal((await api.call('GET', '/v1/alert-events?state=bogus', { as: 'auditor' })).status, 400);
});

t.test('the demo estate: critical findings fire an alert per rule and account after its evaluation', async (t) => {
  const { certFile } = await testCertificate();
  const api = await testApp(t, { config: { webhookAllowHosts: ['127.0.0.1'], webhookCaFile: certFile } });
  const receiver = await startReceiver(t);
  const alert = await create(api, '/v1/alerts', { name: 'Critical findings', metric: 'findings.open', comparison: 'gt', threshold: 0, severity: 'critical', dimension_filter: { severity: 'critical' }, group_by: ['rule'], notification_channels: [{ type: 'webhook', url: receiver.url }] }, 'compliance_officer');
  receiver.trust(alert.notification_channels[0].secret);
  await evaluateSnapshot(api, wealthEstate);
  const critical = await api.call('GET', '/v1/findings?severity=critical&status=open&limit=500', { as: 'auditor' });
  const rules = [...new Set(critical.body.items.map((f: { rule_id: string }) => f.rule_id))].sort();
  t.ok(rules.length > 0, `the demo estate has critical findings (${rules.join(', ')})`);
  await waitFor(async () => (receiver.processed.size >= rules.length ? true : undefined), 'one message per critical rule');
  const fired = [...receiver.processed.values()];
  t.ok(fired.every((d) => d.verified && d.body.type === 'alert.fired'));
  t.same(fired.map((d) => d.body.alert_event.dimensions.rule).sort(), rules);
  t.ok(fired.every((d) => d.body.links.some((l: { rel: string; href: string }) => l.rel === 'finding' && /\/v1\/findings\/[0-9a-f-]{36}$/.test(l.href))), 'each message links to its findings');
});
