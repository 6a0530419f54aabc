/**
 * The real service in a child process is killed with SIGKILL while webhook deliveries are in flight
 * and started again on the same database: every message arrives, each under one event id, and a
 * receiver that drops repeated ids processes each exactly once. (The service runs from source through
 * tsx, like the other crash tests, so no build is needed.)
 */
import t from 'tap';
import { startInstance, type Instance } from '../helpers/instances.js';
import { ADMIN_KEY, freshDatabaseUrl, tempDir, waitFor } from '../helpers/app.js';
import { startReceiver, testCertificate } from '../helpers/webhook-receiver.js';

const MESSAGES = 8;

t.test('SIGKILL with deliveries in flight: after a restart nothing is lost and each message keeps one event id', async (t) => {
  const { certFile } = await testCertificate();
  // Each answer takes a while, so several deliveries are in flight when the service dies.
  const receiver = await startReceiver(t, () => ({ status: 200, delayMs: 1500 }));
  const env = {
    DATABASE_URL: await freshDatabaseUrl(),
    CUSTOS_DATA_DIR: await tempDir(),
    CUSTOS_ADMIN_KEY: ADMIN_KEY,
    CUSTOS_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    CUSTOS_WEBHOOK_CA_FILE: certFile,
    CUSTOS_ALERT_RETRY_BASE_MS: '500',
    CUSTOS_ALERT_DELIVERY_TIMEOUT_MS: '5000',
  };
  // Each start binds a port of its own (the instance names it): `base` follows the running one.
  let base = '';
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: response.status, body: await response.json() };
  };
  const start = async (): Promise<Instance> => {
    const server = await startInstance(env, 90_000);
    t.teardown(() => void server.child.kill('SIGKILL'));
    base = server.base;
    return server;
  };

  const first = await start();
  const alert = await call('POST', '/v1/alerts', { name: 'Crash target', metric: 'findings.open', comparison: 'gt', threshold: 0, severity: 'critical', notification_channels: [{ type: 'webhook', url: receiver.url }] });
  t.equal(alert.status, 201);
  receiver.trust(alert.body.notification_channels[0].secret);
  const expected: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const sent = await call('POST', `/v1/alerts/${alert.body.id}/test`, {});
    t.equal(sent.status, 202);
    expected.push(sent.body.message_id);
  }
  t.equal(new Set(expected).size, MESSAGES, 'each message has its own event id');

  // Kill once some deliveries have reached the receiver, before all are done.
  await waitFor(async () => (receiver.deliveries.length >= 2 ? true : undefined), 'deliveries in flight', 60_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const processedAtKill = receiver.processed.size;
  t.ok(processedAtKill < MESSAGES, `killed mid-way (${processedAtKill} of ${MESSAGES} processed, ${receiver.deliveries.length} requests)`);

  await start();
  const log = await waitFor(async () => {
    const items = (await call('GET', `/v1/notifications?alert_id=${alert.body.id}&limit=100`)).body.items;
    return items.length === MESSAGES && items.every((n: { status: string }) => n.status === 'delivered') ? items : undefined;
  }, 'every notification delivered after the restart', 120_000);
  await waitFor(async () => (receiver.processed.size === MESSAGES ? true : undefined), 'every message processed', 30_000);
  t.same([...receiver.processed.keys()].sort(), [...expected].sort(), 'every message arrived, none lost');
  t.ok(receiver.deliveries.every((d) => expected.includes(d.id) && d.verified), 'no request carried an unknown event id or a bad signature');
  const repeats = receiver.deliveries.length - MESSAGES;
  t.ok(repeats >= 0, `${repeats} request(s) repeated an event id already received (the receiver dropped them)`);
  for (const n of log) t.equal(n.attempts.filter((a: { status: string }) => a.status === 'delivered').length, 1, `${n.message_id}: one delivered attempt in the log`);
});
