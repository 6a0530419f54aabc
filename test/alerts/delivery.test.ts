/**
 * Delivery of alert messages to HTTPS webhooks: signed per Standard Webhooks, retried with backoff,
 * dead-lettered after the last attempt, logged per attempt; test messages; the address guard.
 * The receiver is a real local HTTPS server (self-signed certificate trusted through
 * CUSTOS_WEBHOOK_CA_FILE, 127.0.0.1 allowed through CUSTOS_WEBHOOK_ALLOW_HOSTS).
 */
import t, { type Test } from 'tap';
import dns from 'node:dns/promises';
import os from 'node:os';
import { promisify } from 'node:util';
import { forbiddenAddress, guardedLookup } from '../../src/alerts/address-guard.js';
import { backoffMs } from '../../src/alerts/delivery.js';
import { create, testApp, waitFor, type TestApp } from '../helpers/app.js';
import { startReceiver, testCertificate } from '../helpers/webhook-receiver.js';

async function alertApp(t: Test, allowHosts = ['127.0.0.1']): Promise<TestApp> {
  const { certFile } = await testCertificate();
  return testApp(t, { config: { webhookAllowHosts: allowHosts, webhookCaFile: certFile, alertRetryBaseMs: 200, alertDeliveryAttempts: 3, alertDeliveryTimeoutMs: 1000 } });
}

const notifications = async (api: TestApp, query: string) => (await api.call('GET', `/v1/notifications?${query}`, { as: 'auditor' })).body.items;

async function webhookAlert(api: TestApp, url: string, name: string, extra: Record<string, unknown> = {}) {
  return create(api, '/v1/alerts', { name, metric: 'findings.open', comparison: 'gt', threshold: 0, severity: 'critical', notification_channels: [{ type: 'webhook', url, ...extra }] }, 'compliance_officer');
}

t.test('a test message reaches a receiver signed, with its event id, and is logged per attempt', async (t) => {
  const api = await alertApp(t);
  const receiver = await startReceiver(t);
  const alert = await webhookAlert(api, receiver.url, 'Test target');
  receiver.trust(alert.notification_channels[0].secret);
  t.equal((await api.call('POST', `/v1/alerts/${alert.id}/test`, { as: 'auditor', body: {} })).status, 403);
  const sent = await api.call('POST', `/v1/alerts/${alert.id}/test`, { as: 'compliance_officer', body: {} });
  t.equal(sent.status, 202);
  const delivery = await waitFor(async () => receiver.processed.get(sent.body.message_id), 'the test message');
  t.ok(delivery.verified, 'the signature verifies with the channel secret');
  t.match(delivery.signature, /^v1,[A-Za-z0-9+/=]+$/);
  t.ok(Math.abs(Number(delivery.timestamp) - Date.now() / 1000) < 60, 'webhook-timestamp is now');
  t.match(delivery.body, { type: 'alert.test', event_id: sent.body.message_id, alert: { id: alert.id, name: 'Test target', metric: 'findings.open' } });
  const [logged] = await waitFor(async () => {
    const items = await notifications(api, `alert_id=${alert.id}`);
    return items[0]?.status === 'delivered' ? items : undefined;
  }, 'delivered in the log');
  t.match(logged, { message_id: sent.body.message_id, kind: 'test', channel_type: 'webhook', target: receiver.url, status: 'delivered', attempts: [{ attempt: 1, status: 'delivered', response_code: 200 }] });
  t.ok(logged.attempts[0].latency_ms >= 0);
  const audit = await api.call('GET', `/v1/audit-log?entity=alerts&entity_id=${alert.id}&action=test`);
  t.equal(audit.body.items.length, 1, 'sending a test message is audited');

  // Slack-compatible payloads carry a text and the same headers.
  const slack = await webhookAlert(api, receiver.url, 'Slack target', { format: 'slack' });
  receiver.trust(slack.notification_channels[0].secret);
  const slackSent = await api.call('POST', `/v1/alerts/${slack.id}/test`, { as: 'compliance_officer', body: {} });
  const slackDelivery = await waitFor(async () => receiver.processed.get(slackSent.body.message_id), 'the slack message');
  t.ok(slackDelivery.verified);
  t.match(slackDelivery.body, { text: /\[TEST\] CRITICAL Slack target/ });
  t.match(slackDelivery.body.text, slackSent.body.message_id);
});

t.test('a receiver failing twice then succeeding gets the same event id three times and processes it once', async (t) => {
  const api = await alertApp(t);
  const receiver = await startReceiver(t, (_d, previous) => (previous < 2 ? 503 : 200));
  const alert = await webhookAlert(api, receiver.url, 'Flaky target');
  receiver.trust(alert.notification_channels[0].secret);
  const sent = await api.call('POST', `/v1/alerts/${alert.id}/test`, { as: 'compliance_officer', body: {} });
  const [logged] = await waitFor(async () => {
    const items = await notifications(api, `alert_id=${alert.id}`);
    return items[0]?.status === 'delivered' ? items : undefined;
  }, 'delivered after retries');
  t.same(logged.attempts.map((a: { status: string; response_code: number }) => [a.status, a.response_code]), [['failed', 503], ['failed', 503], ['delivered', 200]]);
  t.same(receiver.deliveries.map((d) => d.id), [sent.body.message_id, sent.body.message_id, sent.body.message_id], 'the same webhook-id on every attempt');
  t.ok(receiver.deliveries.every((d) => d.verified));
  t.equal(receiver.processed.size, 1);
  const at = logged.attempts.map((a: { at: string }) => new Date(a.at).getTime());
  t.ok(at[1] - at[0] >= 200 && at[2] - at[1] >= 400, `the delay doubles from CUSTOS_ALERT_RETRY_BASE_MS (${at[1] - at[0]} ms, then ${at[2] - at[1]} ms)`);
  t.same([1, 2, 3, 4, 20].map((n) => backoffMs(n, 30_000)), [30_000, 60_000, 120_000, 240_000, 3_600_000], 'backoff: doubling, capped at an hour');
});

t.test('a receiver that never answers: each attempt times out, then the notification is dead-lettered', async (t) => {
  const api = await alertApp(t);
  const receiver = await startReceiver(t, () => 'hang');
  const alert = await webhookAlert(api, receiver.url, 'Silent target');
  receiver.trust(alert.notification_channels[0].secret);
  await api.call('POST', `/v1/alerts/${alert.id}/test`, { as: 'compliance_officer', body: {} });
  const [dead] = await waitFor(async () => (await notifications(api, `alert_id=${alert.id}&status=dead`))[0] ? notifications(api, `alert_id=${alert.id}&status=dead`) : undefined, 'dead letter', 30_000);
  t.equal(dead.attempts.length, 3, 'CUSTOS_ALERT_DELIVERY_ATTEMPTS attempts');
  t.ok(dead.attempts.every((a: { status: string; latency_ms: number }) => a.status === 'timeout' && a.latency_ms >= 900), 'each attempt ended at the timeout');
  t.match(dead.last_error, /no response within 1000 ms/);
  t.equal(dead.next_attempt_at, null);
  t.equal(receiver.deliveries.length, 3);

  // The receiver is fixed; someone retries the dead letter: the same message, a fresh set of attempts.
  receiver.behave(() => 200);
  t.equal((await api.call('POST', `/v1/notifications/${dead.id}/retry`, { as: 'auditor', body: {} })).status, 403, 'read-only roles cannot retry');
  const retried = await api.call('POST', `/v1/notifications/${dead.id}/retry`, { as: 'compliance_officer', body: {} });
  t.equal(retried.status, 202, JSON.stringify(retried.body));
  t.match(retried.body, { id: dead.id, message_id: dead.message_id, status: 'pending', previous_attempts: 3 });
  const [delivered] = await waitFor(async () => (await notifications(api, `alert_id=${alert.id}&status=delivered`))[0] ? notifications(api, `alert_id=${alert.id}&status=delivered`) : undefined, 'delivered on retry');
  t.same(delivered.attempts.map((a: { attempt: number; status: string }) => [a.attempt, a.status]), [[1, 'timeout'], [2, 'timeout'], [3, 'timeout'], [4, 'delivered']], 'the earlier attempts stay in the log');
  t.same(receiver.deliveries.map((d) => d.id), Array(4).fill(dead.message_id), 'the same event id throughout');
  t.equal((await api.call('POST', `/v1/notifications/${dead.id}/retry`, { as: 'compliance_officer', body: {} })).status, 409, 'only a dead letter can be retried');
  t.equal((await api.call('POST', '/v1/notifications/01900000-0000-7000-8000-000000000000/retry', { as: 'compliance_officer', body: {} })).status, 404);
  t.equal((await api.call('GET', `/v1/audit-log?entity=notifications&entity_id=${dead.id}&action=retry`, { as: 'auditor' })).body.items.length, 1, 'the retry is audited');
});

t.test('address guard: private, loopback, link-local and metadata targets are refused, also when a name resolves to one at connect time', async (t) => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe']) {
    t.ok(forbiddenAddress(address), `${address} refused`);
  }
  for (const address of ['8.8.8.8', '52.94.236.248', '2600:1f18::1', '::ffff:8.8.8.8']) t.equal(forbiddenAddress(address), undefined, `${address} allowed`);

  // No allow-list: the receiver on 127.0.0.1 is refused.
  const api = await alertApp(t, []);
  const receiver = await startReceiver(t);
  const literal = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: { name: 'Loopback', metric: 'findings.open', comparison: 'gt', threshold: 0, severity: 'low', notification_channels: [{ type: 'webhook', url: receiver.url }] } });
  t.equal(literal.status, 400, 'a literal loopback address is refused when saved');
  t.match(literal.body.errors, [{ field: 'notification_channels[0].url', message: /loopback/ }]);
  // The connect-time lookup refuses what resolves to a forbidden address, and passes allowed hosts.
  const lookup = promisify(guardedLookup(new Set(['localhost'])) as never) as (host: string, options: object) => Promise<unknown>;
  t.same(await lookup('localhost', { all: true }), [{ address: '127.0.0.1', family: 4 }], 'an allowed host resolves');
  await t.rejects(promisify(guardedLookup(new Set()) as never)('localhost', {}), /webhook host localhost refused: 127\.0\.0\.1/);
  // The machine's host name passes the save-time check (a name), but resolves to loopback: refused when connecting.
  const host = os.hostname();
  const resolved = await dns.lookup(host, { all: true });
  t.ok(resolved.some((a) => forbiddenAddress(a.address)), `precondition: ${host} resolves to a local address (${JSON.stringify(resolved)})`);
  const named = await webhookAlert(api, `https://${host}:${receiver.port}/hooks/custos`, 'Rebinding');
  await api.call('POST', `/v1/alerts/${named.id}/test`, { as: 'compliance_officer', body: {} });
  const [dead] = await waitFor(async () => {
    const items = await notifications(api, `alert_id=${named.id}`);
    return items[0]?.status === 'dead' ? items : undefined;
  }, 'refused at connect time');
  t.match(dead.attempts, [{ status: 'refused', response_code: null, error: new RegExp(`webhook host ${host} refused: .* is a private, loopback, link-local or metadata address`) }]);
  t.equal(dead.attempts.length, 1, 'a refused target is not retried');
  t.equal(receiver.deliveries.length, 0, 'nothing reached the receiver');
});
