import t from 'tap';
import { recordAudit } from '../../src/audit/repository.js';
import { createKnex } from '../../src/db/database.js';
import { create, testApp } from '../helpers/app.js';

t.test('every mutation writes who, what, before and after, in the same transaction', async (t) => {
  const api = await testApp(t);
  const headers = { 'x-request-id': 'req-audit-1' };
  const created = await api.call('POST', '/v1/domains', {
    as: 'steward',
    headers,
    body: { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'quarterly' },
  });
  // Custos's own id, not the client's (test/security/request-id.test.ts).
  const requestId = created.headers['x-request-id'];
  t.match(requestId, /^[0-9a-f-]{36}$/);
  await api.call('PATCH', `/v1/domains/${created.body.id}`, { as: 'steward', body: { review_frequency: 'annual' }, headers: { 'if-match': '"1"' } });
  await api.call('DELETE', `/v1/domains/${created.body.id}`, { as: 'admin' });

  const log = await api.call('GET', `/v1/audit-log?entity=domains&entity_id=${created.body.id}`, { as: 'auditor' });
  t.equal(log.status, 200);
  t.same(log.body.items.map((e: { action: string }) => e.action), ['delete', 'update', 'create'], 'newest first');
  const [deleted, updated, inserted] = log.body.items;
  t.match(inserted, { actor: 'test-steward', role: 'steward', actor_key_id: String, request_id: requestId, client_ip: '127.0.0.1', old_value: null });
  t.match(inserted.new_value, { name: 'Client', owner: 'o@bank.example' });
  t.match(updated, { old_value: { review_frequency: 'quarterly', version: 1 }, new_value: { review_frequency: 'annual', version: 2 } });
  t.match(deleted, { actor: 'bootstrap-admin', role: 'admin', old_value: { review_frequency: 'annual' }, new_value: null });

  const one = await api.call('GET', `/v1/audit-log/${updated.id}`, { as: 'compliance_officer' });
  t.same(one.body, updated);
  t.equal((await api.call('GET', '/v1/audit-log/999999')).status, 404);
});

t.test('each kind of entity is audited on create', async (t) => {
  const api = await testApp(t);
  const domain = await create(api, '/v1/domains', { name: 'Client', owner: 'o', steward: 's', review_frequency: 'annual' });
  const asset = await create(api, '/v1/assets', {
    store: 'aurora', database: 'wealth', table: 'clients', domain: 'Client',
    columns: [{ name: 'ssn', data_type: 'varchar', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' }],
  });
  const created = {
    domains: domain.id,
    assets: asset.id,
    classifications: (await create(api, '/v1/classifications', { name: 'secret', rank: 40 })).id,
    'masking-rules': (await create(api, '/v1/masking-rules', { name: 'hide', strategy: 'redact' })).id,
    'retention-policies': (await create(api, '/v1/retention-policies', { name: 'short', data_category: 'logs', trigger_event: 'event_date', period: 'P90D' })).id,
    'data-quality-rules': (await create(api, '/v1/data-quality-rules', { asset_id: asset.id, column_name: 'ssn', name: 'nn', rule_type: 'not_null', severity: 'high' })).id,
    'compliance-records': (await create(api, '/v1/compliance-records', { regulation: 'SOC2', requirement_id: 'CC6.1', status: 'compliant', responsible_party: 'ciso' })).id,
    alerts: (await create(api, '/v1/alerts', { name: 'a', metric: 'findings.open', comparison: 'gt', threshold: 1, severity: 'low', notification_channels: [{ type: 'email', address: 'a@bank.example' }] })).id,
  };
  for (const [entity, id] of Object.entries(created)) {
    const rows = await api.app.db('audit_log').where({ entity, entity_id: id, action: 'create' });
    t.equal(rows.length, 1, `${entity} create audited`);
    t.equal(rows[0].new_value.id, id);
  }
  const keyRows = await api.app.db('audit_log').where({ entity: 'api-keys' });
  t.ok(keyRows.length >= 5);
  for (const [, key] of Object.entries(api.keys)) {
    t.notOk(JSON.stringify(keyRows).includes(key), 'no key in the audit log');
  }
});

t.test('the audit log cannot be changed: no route, and the database refuses', async (t) => {
  const api = await testApp(t);
  const [entry] = await api.app.db('audit_log').orderBy('id').limit(1);
  t.ok(entry);
  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    t.equal((await api.call(method, `/v1/audit-log/${entry.id}`, { body: method === 'DELETE' ? undefined : {} })).status, 405, `${method} on the audit log is not a route (405, the path exists for GET only)`);
  }
  await t.rejects(api.app.db('audit_log').where({ id: entry.id }).update({ actor: 'mallory' }), /append-only: UPDATE refused/);
  await t.rejects(api.app.db('audit_log').where({ id: entry.id }).delete(), /append-only: DELETE refused/);
  await t.rejects(api.app.db.raw('TRUNCATE audit_log'), /append-only: TRUNCATE refused/);
  t.same((await api.app.db('audit_log').where({ id: entry.id }).first()).actor, entry.actor);
});

t.test('filters and pagination', async (t) => {
  const api = await testApp(t);
  for (let i = 0; i < 5; i++) await create(api, '/v1/domains', { name: `D${i}`, owner: 'o', steward: 's', review_frequency: 'annual' }, 'steward');
  const first = await api.call('GET', '/v1/audit-log?entity=domains&limit=2');
  t.same(first.body.items.map((e: any) => e.new_value.name), ['D4', 'D3']);
  const second = await api.call('GET', `/v1/audit-log?entity=domains&limit=2&cursor=${first.body.next_cursor}`);
  t.same(second.body.items.map((e: any) => e.new_value.name), ['D2', 'D1']);
  const byActor = await api.call('GET', '/v1/audit-log?actor=test-steward&action=create');
  t.equal(byActor.body.items.length, 5);
  const future = await api.call('GET', '/v1/audit-log?from=2999-01-01T00:00:00Z');
  t.same(future.body.items, []);
  t.equal((await api.call('GET', '/v1/audit-log?from=yesterday')).status, 400);
});

t.test('the hash covers every column: who signed in (actor_email) cannot be edited unseen', async (t) => {
  const api = await testApp(t);
  const context = { actor: 'console-user', actorKeyId: null, subject: 'oidc:alice', role: 'steward' as const, email: 'alice@bank.example' };
  await api.app.db.transaction((trx) => recordAudit(trx, context, { action: 'create', entity: 'domains', entityId: 'x' }));
  await api.call('POST', '/v1/domains', { as: 'steward', body: { name: 'Client', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'annual' } });
  t.match((await api.call('POST', '/v1/audit-log/verify', { as: 'auditor' })).body, { ok: true }, 'rows with and without an email verify');

  // The database owner sets the trigger aside and changes only the email, leaving the hashes alone.
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  await owner.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete');
  await owner('audit_log').where({ actor_email: 'alice@bank.example' }).update({ actor_email: 'bob@bank.example' });
  await owner.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete');
  t.match((await api.call('POST', '/v1/audit-log/verify', { as: 'auditor' })).body, { ok: false, first_break: { problem: /edited/ } });
});
