import t from 'tap';
import { loadDemoData } from '../../src/demo/load.js';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { evaluateSnapshot, testApp } from '../helpers/app.js';

// Issue 14, "The API": what got in a new user's way, each as it should be now.

t.test('every list takes limit and cursor, and pages through to the end', async (t) => {
  const api = await testApp(t);
  for (const url of ['/v1/controls', '/v1/policies', '/v1/remediation-actions', '/v1/controls/CC6.1/history']) {
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { items: Array<{ id?: string; name?: string; evaluation_id?: string }>; next_cursor: string | null } } = await api.call(
        'GET',
        `${url}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      t.equal(page.status, 200, `${url}?limit=2`);
      t.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((i) => i.id ?? i.name ?? i.evaluation_id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    const all = (await api.call('GET', `${url}?limit=500`)).body.items.map((i: { id?: string; name?: string; evaluation_id?: string }) => i.id ?? i.name ?? i.evaluation_id);
    t.same(seen, all, `${url}: the pages together are the whole list`);
  }
  t.equal((await api.call('GET', '/v1/controls?limit=50')).status, 200, 'GET /v1/controls?limit=50 (a 400 before)');
  const bad = await api.call('GET', '/v1/controls?cursor=bm9wZQ');
  t.same([bad.status, bad.body.errors?.[0]?.field], [400, 'cursor']);
});

t.test('periods and *_before accept plain dates as well as date-times', async (t) => {
  const api = await testApp(t);
  for (const url of [
    '/v1/controls/CC6.1/history?from=2026-01-01&to=2026-03-01',
    '/v1/controls/CC6.1/coverage?from=2026-01-01&to=2026-03-01',
    '/v1/audit-log?from=2026-01-01',
    '/v1/decisions?from=2026-01-01&to=2027-01-01',
    '/v1/evidence?from=2026-01-01',
    '/v1/exceptions?expiring_before=2027-01-01',
  ]) {
    const response = await api.call('GET', url);
    t.equal(response.status, 200, url);
  }
  const history = (await api.call('GET', '/v1/controls/CC6.1/history?from=2026-01-01&to=2026-03-01')).body;
  t.same([history.from, history.to], ['2026-01-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'], 'a date is its midnight UTC');
  const invalid = await api.call('GET', '/v1/audit-log?from=2026-13-45');
  t.same([invalid.status, invalid.body.errors[0].field], [400, 'from']);
});

t.test('findings: filters named like the fields, and a reference to the rule instead of its description', async (t) => {
  const api = await testApp(t);
  await evaluateSnapshot(api, wealthEstate);
  const all = (await api.call('GET', '/v1/findings?limit=500')).body.items;
  const one = all[0];
  t.notOk('rule' in one, 'no copy of the rule in each finding');
  t.equal(one.rule_url, `/v1/policies/${one.rule_id}`);
  const rule = await api.call('GET', one.rule_url);
  t.same([rule.status, rule.body.id], [200, one.rule_id], 'the rule, once');
  t.match(rule.body, { title: String, description: String, remediation: String });
  t.equal((await api.call('GET', '/v1/policies/no.such_rule')).status, 404);

  const byRule = (await api.call('GET', `/v1/findings?rule_id=${one.rule_id}&limit=500`)).body.items;
  t.ok(byRule.length > 0 && byRule.every((f: { rule_id: string }) => f.rule_id === one.rule_id), 'rule_id');
  const byResource = (await api.call('GET', `/v1/findings?resource_id=${encodeURIComponent(one.resource_id)}&limit=500`)).body.items;
  t.ok(byResource.length > 0 && byResource.every((f: { resource_id: string }) => f.resource_id === one.resource_id), 'resource_id');
  t.same((await api.call('GET', `/v1/findings?rule=${one.rule_id}&limit=500`)).body.items, byRule, 'rule: the deprecated alias still works');
});

t.test('a pipeline reads its own decisions; a principal counts from its creation', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await api.app.policy.reloadAccessData();
  const arn = 'arn:aws:iam::111122223333:role/market-data';
  const ask = () =>
    api.call('POST', '/v1/access/decisions', {
      as: 'pipeline',
      body: { principal: arn, action: 'select', purpose: 'reporting', resource: { store: 'aurora', database: 'wealth', table: 'securities_master' } },
    });
  const before = (await ask()).body;
  t.ok(before.reasons.some((r: { code: string }) => r.code === 'unknown_principal'), 'unknown before it is registered');
  const created = await api.call('POST', '/v1/principals', { as: 'steward', body: { arn, name: 'market-data', kind: 'service', team: 'investments' } });
  t.equal(created.status, 201);
  const decision = (await ask()).body;
  t.equal(decision.decision, 'allow', `the very next decision sees the principal (no wait for the notification): ${JSON.stringify(decision.reasons)}`);

  const own = await api.call('GET', `/v1/access/decisions/${decision.decision_id}`, { as: 'pipeline' });
  t.same([own.status, own.body.id], [200, decision.decision_id], 'the pipeline reads its own decision');
  const other = await api.call('POST', '/v1/api-keys', { body: { role: 'pipeline', name: 'other-pipeline' } });
  const foreign = await api.call('GET', `/v1/access/decisions/${decision.decision_id}`, { key: other.body.key });
  t.equal(foreign.status, 404, "another pipeline's key does not see it");
  t.equal((await api.call('GET', `/v1/access/decisions/${decision.decision_id}`, { as: 'auditor' })).status, 200);
});

t.test('API keys: expiry, last use, rotation, and a 401 that says why', async (t) => {
  const api = await testApp(t);
  const past = await api.call('POST', '/v1/api-keys', { body: { role: 'auditor', name: 'late', expires_at: '2020-01-01' } });
  t.same([past.status, past.body.errors[0].field], [400, 'expires_at']);

  const soon = new Date(Date.now() + 1500).toISOString();
  const expiring = (await api.call('POST', '/v1/api-keys', { body: { role: 'auditor', name: 'temp', expires_at: soon } })).body;
  t.equal(expiring.expires_at, soon);
  t.equal((await api.call('GET', '/v1/controls', { key: expiring.key })).status, 200);
  await new Promise((r) => setTimeout(r, 1600));
  const expired = await api.call('GET', '/v1/controls', { key: expiring.key });
  t.equal(expired.status, 401);
  t.match(expired.body.detail, `expired at ${soon}`);

  const alice = (await api.call('POST', '/v1/api-keys', { body: { role: 'steward', name: 'alice', subject: 'alice@bank.example' } })).body;
  t.equal(alice.last_used_at, null);
  await api.call('GET', '/v1/domains', { key: alice.key });
  await api.app.flushKeyUse();
  const used = (await api.call('GET', `/v1/api-keys/${alice.id}`)).body;
  t.ok(used.last_used_at && Date.parse(used.last_used_at) > Date.now() - 60_000, 'last_used_at is recorded');

  const rotated = await api.call('POST', `/v1/api-keys/${alice.id}/rotate`, { body: {} });
  t.equal(rotated.status, 201);
  t.match(rotated.body, { name: 'alice', role: 'steward', subject: 'alice@bank.example', key: /^cus_/ });
  t.equal((await api.call('GET', '/v1/domains', { key: rotated.body.key })).status, 200, 'the new key works');
  const old = await api.call('GET', '/v1/domains', { key: alice.key });
  t.equal(old.status, 401);
  t.match(old.body.detail, `was rotated at`);
  t.match(old.body.detail, rotated.body.id, 'and names its replacement');
  t.equal((await api.call('POST', `/v1/api-keys/${alice.id}/rotate`, { body: {} })).status, 409, 'a rotated key is not rotated twice');

  const bob = (await api.call('POST', '/v1/api-keys', { body: { role: 'steward', name: 'bob' } })).body;
  await api.call('DELETE', `/v1/api-keys/${bob.id}`);
  const revoked = await api.call('GET', '/v1/domains', { key: bob.key });
  t.equal(revoked.status, 401);
  t.match(revoked.body.detail, /was revoked at/);
  const unknown = await api.call('GET', '/v1/domains', { key: 'cus_not-a-key-0123456789' });
  t.match(unknown.body.detail, 'a valid API key is required');
});
