import t from 'tap';
import { create, testApp, type Response } from '../helpers/app.js';

const fieldsOf = (response: Response) => [...new Set<string>((response.body.errors ?? []).map((e: { field: string }) => e.field))].sort();

const webhook = { type: 'webhook', url: 'https://hooks.bank.example/custos' };
const sns = { type: 'sns', topic_arn: 'arn:aws:sns:us-east-1:123456789012:custos-alerts' };
const email = { type: 'email', address: 'governance@bank.example' };
const alert = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  metric: 'findings.open',
  comparison: 'gt',
  threshold: 5,
  severity: 'high',
  notification_channels: [email],
  ...extra,
});

t.test('alerts', async (t) => {
  const api = await testApp(t);
  const count = async () => (await api.app.db('alerts').count('* as n').first())!.n;

  t.test('create, read, update, delete', async (t) => {
    const created = await api.call('POST', '/v1/alerts', {
      as: 'compliance_officer',
      body: alert('DQ failures', { threshold: 2.5, description: 'Too many failed checks', notification_channels: [webhook, sns, email] }),
    });
    t.equal(created.status, 201);
    t.equal(created.headers.location, `/v1/alerts/${created.body.id}`);
    t.match(created.body, {
      name: 'DQ failures',
      description: 'Too many failed checks',
      metric: 'findings.open',
      comparison: 'gt',
      threshold: 2.5,
      severity: 'high',
      enabled: true,
      version: 1,
    });
    t.match(created.body.notification_channels, [webhook, sns, email], 'channels stored as given, in order');
    t.equal(created.body.notification_channels.length, 3);
    t.ok(created.body.notification_channels.every((c: { id: string }) => /^[0-9a-f-]{36}$/.test(c.id)), 'each channel gets an id');
    t.match(created.body.notification_channels[0].secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'the webhook secret is shown at creation');
    t.notOk('secret' in created.body.notification_channels[1], 'only webhooks have a secret');
    const { secret, ...storedWebhook } = created.body.notification_channels[0];
    const read = (await api.call('GET', `/v1/alerts/${created.body.id}`, { as: 'auditor' })).body;
    t.same(read, { ...created.body, notification_channels: [storedWebhook, ...created.body.notification_channels.slice(1)] }, 'read back without the secret');
    const audit = await api.call('GET', `/v1/audit-log?entity=alerts&entity_id=${created.body.id}`);
    t.notOk(JSON.stringify(audit.body).includes(secret), 'the audit log does not hold the secret');

    const updated = await api.call('PATCH', `/v1/alerts/${created.body.id}`, {
      as: 'compliance_officer',
      body: { threshold: 0, comparison: 'gte', enabled: false, notification_channels: [sns] },
      headers: { 'if-match': '"1"' },
    });
    t.equal(updated.status, 200);
    t.match(updated.body, { threshold: 0, comparison: 'gte', enabled: false, severity: 'high', version: 2 });
    t.match(updated.body.notification_channels, [sns]);
    t.equal(updated.body.notification_channels.length, 1);
    t.equal((await api.app.db('alert_channel_secrets').where({ alert_id: created.body.id })).length, 0, 'the removed webhook channel’s secret is gone');

    const negative = await api.call('PATCH', `/v1/alerts/${created.body.id}`, { as: 'compliance_officer', body: { threshold: -1.25 }, headers: { 'if-match': '"2"' } });
    t.equal(negative.body.threshold, -1.25);

    const duplicate = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('DQ failures') });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.type, '/problems/duplicate');

    const steward = await api.call('POST', '/v1/alerts', { as: 'steward', body: alert('Steward alert') });
    t.equal(steward.status, 403);
    const auditor = await api.call('DELETE', `/v1/alerts/${created.body.id}`, { as: 'auditor' });
    t.equal(auditor.status, 403);

    const deleted = await api.call('DELETE', `/v1/alerts/${created.body.id}`, { as: 'compliance_officer', headers: { 'if-match': '"3"' } });
    t.equal(deleted.status, 204);
    t.equal((await api.call('GET', `/v1/alerts/${created.body.id}`)).status, 404);
    t.equal(await count(), 0);
  });

  t.test('each channel carries exactly its own valid target', async (t) => {
    const refuse = async (channels: unknown, field: string, message?: RegExp | string) => {
      const response = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Refused', { notification_channels: channels }) });
      t.equal(response.status, 400, `${JSON.stringify(channels)}: 400`);
      t.equal(response.body.type, '/problems/validation-error');
      t.same(fieldsOf(response), [field], `names ${field}`);
      if (message) t.match(response.body.errors[0].message, message);
    };
    await refuse([{ type: 'webhook', url: 'http://hooks.bank.example/custos' }], 'notification_channels[0].url', 'must be an https URL');
    await refuse([{ type: 'webhook', url: 'ftp://hooks.bank.example/custos' }], 'notification_channels[0].url', 'must be an https URL');
    await refuse([{ type: 'webhook', url: 'not a url' }], 'notification_channels[0].url', /format "uri"/);
    await refuse([{ type: 'webhook' }], 'notification_channels[0].url', 'is required for a webhook channel');
    await refuse([email, { type: 'sns', topic_arn: 'arn:aws:sqs:us-east-1:123456789012:queue' }], 'notification_channels[1].topic_arn', /SNS topic ARN/);
    await refuse([{ type: 'sns', topic_arn: 'arn:aws:sns:us-east-1:12345:custos' }], 'notification_channels[0].topic_arn', /SNS topic ARN/);
    await refuse([{ type: 'sns', topic_arn: 'custos-alerts' }], 'notification_channels[0].topic_arn', /SNS topic ARN/);
    await refuse([{ type: 'sns' }], 'notification_channels[0].topic_arn', 'is required for a sns channel');
    await refuse([{ type: 'email', address: 'governance' }], 'notification_channels[0].address', /format "email"/);
    await refuse([{ type: 'email', address: 'a@b@bank.example' }], 'notification_channels[0].address', /format "email"/);
    await refuse([{ type: 'email' }], 'notification_channels[0].address', 'is required for a email channel');

    // A field of another channel type is refused by name.
    await refuse([{ ...webhook, topic_arn: sns.topic_arn }], 'notification_channels[0].topic_arn', 'does not belong to a webhook channel');
    await refuse([{ ...email, url: webhook.url }], 'notification_channels[0].url', 'does not belong to a email channel');
    await refuse([webhook, { ...sns, address: email.address }], 'notification_channels[1].address', 'does not belong to a sns channel');

    await refuse([], 'notification_channels', /must NOT have fewer than 1 items/);
    await refuse(Array.from({ length: 21 }, () => email), 'notification_channels', /must NOT have more than 20 items/);
    await refuse([{ type: 'pager', address: email.address }], 'notification_channels[0].type', /must be one of: webhook, sns, email/);
    await refuse([{ ...email, headers: { x: '1' } }], 'notification_channels[0].headers', 'is not a known field');

    await refuse([{ type: 'webhook', url: 'https://169.254.169.254/latest' }], 'notification_channels[0].url', /private, loopback, link-local or metadata/);
    await refuse([{ type: 'webhook', url: 'https://10.0.0.8/hook' }], 'notification_channels[0].url', /private, loopback, link-local or metadata/);
    await refuse([{ type: 'webhook', url: 'https://[::1]/hook' }], 'notification_channels[0].url', /private, loopback, link-local or metadata/);
    await refuse([{ type: 'webhook', url: 'https://localhost:8443/hook' }], 'notification_channels[0].url', /loopback/);
    await refuse([{ ...sns, format: 'slack' }], 'notification_channels[0].format', 'does not belong to a sns channel');

    const missing = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: { name: 'x', metric: 'm', comparison: 'gt', threshold: 1, severity: 'low' } });
    t.equal(missing.status, 400);
    t.same(fieldsOf(missing), ['notification_channels']);
    t.equal(await count(), 0, 'nothing stored');

    const gov = await create(
      api,
      '/v1/alerts',
      alert('GovCloud', { notification_channels: [{ type: 'sns', topic_arn: 'arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo' }] }),
      'compliance_officer',
    );
    t.equal(gov.notification_channels[0].topic_arn, 'arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo', 'partition and FIFO topics are ARNs too');

    const patch = await api.call('PATCH', `/v1/alerts/${gov.id}`, {
      as: 'compliance_officer',
      body: { notification_channels: [{ type: 'webhook', url: 'http://insecure.example' }] },
      headers: { 'if-match': '"1"' },
    });
    t.equal(patch.status, 400, 'updates are checked too');
    t.same(fieldsOf(patch), ['notification_channels[0].url']);
    t.same((await api.call('GET', `/v1/alerts/${gov.id}`)).body, gov, 'unchanged');
  });

  t.test('bodies are not type-coerced', async (t) => {
    const before = await count();
    const stringThreshold = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Coerced', { threshold: '5' }) });
    t.equal(stringThreshold.status, 400);
    t.same(stringThreshold.body.errors, [{ location: 'body', field: 'threshold', message: 'must be number' }]);
    const stringEnabled = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Coerced', { enabled: 'false' }) });
    t.equal(stringEnabled.status, 400);
    t.same(fieldsOf(stringEnabled), ['enabled']);
    const nullThreshold = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Coerced', { threshold: null }) });
    t.equal(nullThreshold.status, 400);
    t.same(fieldsOf(nullThreshold), ['threshold']);
    const badComparison = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Coerced', { comparison: '>' }) });
    t.equal(badComparison.status, 400);
    t.same(fieldsOf(badComparison), ['comparison']);
    t.equal(await count(), before);
  });

  t.test('filters', async (t) => {
    for (const existing of (await api.call('GET', '/v1/alerts')).body.items) {
      t.equal((await api.call('DELETE', `/v1/alerts/${existing.id}`, { as: 'compliance_officer' })).status, 204);
    }
    await create(api, '/v1/alerts', alert('A', { severity: 'critical', notification_channels: [webhook] }));
    await create(api, '/v1/alerts', alert('B', { severity: 'high', notification_channels: [sns, email], enabled: false }));
    await create(api, '/v1/alerts', alert('C', { severity: 'critical', metric: 'access.denied', notification_channels: [email] }));
    await create(api, '/v1/alerts', alert('D', { severity: 'info', notification_channels: [webhook, { type: 'webhook', url: 'https://backup.bank.example/hook' }], enabled: false }));

    const list = async (query: string) => {
      const response = await api.call('GET', `/v1/alerts?${query}`, { as: 'auditor' });
      t.equal(response.status, 200, `${query}: 200`);
      return response.body.items.map((a: { name: string }) => a.name);
    };
    t.same(await list(''), ['A', 'B', 'C', 'D']);
    t.same(await list('severity=critical'), ['A', 'C']);
    t.same(await list('severity=low'), []);
    t.same(await list('enabled=true'), ['A', 'C']);
    t.same(await list('enabled=false'), ['B', 'D']);
    t.same(await list('channel_type=webhook'), ['A', 'D']);
    t.same(await list('channel_type=email'), ['B', 'C']);
    t.same(await list('channel_type=sns'), ['B']);
    t.same(await list('metric=access.denied'), ['C']);
    t.same(await list('severity=critical&channel_type=email'), ['C']);
    t.same(await list('enabled=false&channel_type=webhook'), ['D']);

    for (const [query, field] of [
      ['severity=urgent', 'severity'],
      ['enabled=yes', 'enabled'],
      ['channel_type=slack', 'channel_type'],
    ]) {
      const bad = await api.call('GET', `/v1/alerts?${query}`);
      t.equal(bad.status, 400, `${query}: 400`);
      t.match(bad.body.errors, [{ location: 'querystring', field }]);
    }
  });

  t.test('metrics: an unknown metric lists the valid ones; window, filter and grouping must fit the metric', async (t) => {
    const metrics = await api.call('GET', '/v1/alert-metrics', { as: 'auditor' });
    t.equal(metrics.status, 200);
    const names = metrics.body.items.map((m: { name: string }) => m.name);
    t.ok(names.length >= 13, `${names.length} metrics`);
    for (const m of metrics.body.items) t.ok(m.description && m.unit && Array.isArray(m.dimensions) && m.schedule, `${m.name} is documented`);
    const unknown = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Unknown', { metric: 'dq_failures' }) });
    t.equal(unknown.status, 400);
    t.same(fieldsOf(unknown), ['metric']);
    for (const name of names) t.match(unknown.body.errors[0].message, name, `lists ${name}`);

    const refuse = async (extra: Record<string, unknown>, field: string, message: RegExp) => {
      const response = await api.call('POST', '/v1/alerts', { as: 'compliance_officer', body: alert('Bad', extra) });
      t.equal(response.status, 400, JSON.stringify(extra));
      t.same(fieldsOf(response), [field]);
      t.match(response.body.errors[0].message, message);
    };
    await refuse({ metric: 'controls.status', window_minutes: 60 }, 'window_minutes', /has no window/);
    await refuse({ dimension_filter: { team: 'x' } }, 'dimension_filter.team', /not a dimension of findings.open; its dimensions: severity, rule, account/);
    await refuse({ group_by: ['severity', 'region'] }, 'group_by[1]', /not a dimension/);
    await refuse({ window_minutes: 0 }, 'window_minutes', /must be >= 1/);
    await refuse({ renotify_minutes: 0 }, 'renotify_minutes', /must be >= 1/);

    const ok = await create(api, '/v1/alerts', alert('Critical findings per account', { window_minutes: 60, dimension_filter: { severity: 'critical' }, group_by: ['account'], renotify_minutes: 240 }), 'compliance_officer');
    t.match(ok, { window_minutes: 60, dimension_filter: { severity: 'critical' }, group_by: ['account'], renotify_minutes: 240 });
    const defaults = await create(api, '/v1/alerts', alert('Defaults'), 'compliance_officer');
    t.match(defaults, { window_minutes: null, dimension_filter: {}, group_by: null, renotify_minutes: null });
  });

  t.test('webhook secrets: kept across a PATCH that keeps the channel, rotated on request and shown once', async (t) => {
    const created = await create(api, '/v1/alerts', alert('Rotating', { notification_channels: [webhook, email] }), 'compliance_officer');
    const [hook, mail] = created.notification_channels;
    const stored = async () => (await api.app.db('alert_channel_secrets').where({ channel_id: hook.id }).first())?.secret;
    t.equal(await stored(), hook.secret);

    const kept = await api.call('PATCH', `/v1/alerts/${created.id}`, { as: 'compliance_officer', body: { notification_channels: [{ id: hook.id, ...webhook, format: 'slack' }, { type: 'sns', topic_arn: sns.topic_arn }] }, headers: { 'if-match': '"1"' } });
    t.equal(kept.status, 200, JSON.stringify(kept.body));
    t.equal(kept.body.notification_channels[0].id, hook.id);
    t.notOk('secret' in kept.body.notification_channels[0], 'a kept channel’s secret is not shown again');
    t.equal(await stored(), hook.secret, 'and not changed');
    t.not(kept.body.notification_channels[1].id, mail.id);

    const foreign = await api.call('PATCH', `/v1/alerts/${created.id}`, { as: 'compliance_officer', body: { notification_channels: [{ id: mail.id, ...email }] }, headers: { 'if-match': '"2"' } });
    t.equal(foreign.status, 400);
    t.same(fieldsOf(foreign), ['notification_channels[0].id']);
    const retyped = await api.call('PATCH', `/v1/alerts/${created.id}`, { as: 'compliance_officer', body: { notification_channels: [{ id: hook.id, ...email }] }, headers: { 'if-match': '"2"' } });
    t.equal(retyped.status, 400);
    t.same(fieldsOf(retyped), ['notification_channels[0].type']);

    t.equal((await api.call('POST', `/v1/alerts/${created.id}/channels/${hook.id}/rotate-secret`, { as: 'steward', body: {} })).status, 403);
    const rotated = await api.call('POST', `/v1/alerts/${created.id}/channels/${hook.id}/rotate-secret`, { as: 'compliance_officer', body: {} });
    t.equal(rotated.status, 200);
    t.match(rotated.body.secret, /^whsec_/);
    t.not(rotated.body.secret, hook.secret);
    t.equal(await stored(), rotated.body.secret);
    const row = await api.app.db('alert_channel_secrets').where({ channel_id: hook.id }).first();
    t.equal(row.previous_secret, hook.secret, 'the previous secret still signs for a day');
    const audit = await api.call('GET', `/v1/audit-log?entity=alerts&entity_id=${created.id}&action=rotate-secret`);
    t.equal(audit.body.items.length, 1);
    t.notOk(JSON.stringify(audit.body).includes(rotated.body.secret));
    t.equal((await api.call('POST', `/v1/alerts/${created.id}/channels/${kept.body.notification_channels[1].id}/rotate-secret`, { as: 'compliance_officer', body: {} })).status, 404, 'an SNS channel has no secret');
  });
});
