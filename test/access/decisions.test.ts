import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { loadDemoData } from '../../src/demo/load.js';
import { approvePending, testApp, type TestApp } from '../helpers/app.js';

const ETL = 'arn:aws:iam::111122223333:role/analytics-etl';
const MARKET = 'arn:aws:iam::111122223333:role/market-data';
const STRANGER = 'arn:aws:iam::111122223333:role/nobody';
const clients = (columns?: string[]) => ({ store: 'aurora', database: 'wealth', table: 'clients', ...(columns ? { columns } : {}) });

async function ready(t: Parameters<typeof testApp>[0]) {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  // Joining a domain is a pending change (four-eyes): the admin approves it.
  await approvePending(api, await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: ETL, name: 'analytics-etl', kind: 'pipeline', team: 'analytics', domain: 'Client' } }));
  await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: MARKET, name: 'market-data', kind: 'service', team: 'investments' } });
  // The catalog and principals reach every instance through LISTEN/NOTIFY; wait until they have.
  await until(api, async () => (await decide(api, { principal: MARKET, resource: { store: 'aurora', database: 'wealth', table: 'securities_master' } })).decision === 'allow');
  return api;
}

async function until(api: TestApp, probe: () => Promise<boolean>) {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in 5 s');
}

function decide(api: TestApp, check: Record<string, unknown>) {
  return api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: { action: 'select', purpose: 'reporting', ...check } }).then((r) => {
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return r.body;
  });
}

/** An approved grant, as the grant workflow records it. */
async function grant(api: TestApp, values: { principal: string; columns: string[]; purpose: string; expiresInSeconds: number; permissions?: string[] }) {
  const requestId = uuidv7();
  await api.app.db('access_requests').insert({
    id: requestId, requester: 'test', requester_subject: 'test', principal: values.principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients',
    columns: JSON.stringify(values.columns), permissions: JSON.stringify(values.permissions ?? ['SELECT']), purpose: values.purpose, duration_days: 30, status: 'approved',
  });
  const id = uuidv7();
  await api.app.db('access_grants').insert({
    id, request_id: requestId, principal: values.principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients',
    columns: JSON.stringify(values.columns), permissions: JSON.stringify(values.permissions ?? ['SELECT']), purpose: values.purpose,
    starts_at: new Date(Date.now() - 60_000), expires_at: new Date(Date.now() + values.expiresInSeconds * 1000), status: 'active',
  });
  await api.app.db.raw("SELECT pg_notify('custos_access_data', 'grants')");
  return id;
}

t.test('allow, deny and mask for the demo catalog', async (t) => {
  const api = await ready(t);

  const reference = await decide(api, { principal: MARKET, resource: { store: 'aurora', database: 'wealth', table: 'price_history' } });
  t.match(reference, { decision: 'allow', obligations: { mask: {} }, decision_id: String, bundle_revision: /^rego-/ });

  for (const [check, code] of [
    [{ principal: STRANGER, resource: clients(['client_id']) }, 'unknown_principal'],
    [{ principal: ETL, resource: { store: 'aurora', database: 'wealth', table: 'no_such_table' } }, 'unknown_table'],
    [{ principal: ETL, resource: clients(['favourite_colour']) }, 'unknown_column'],
  ] as const) {
    const answer = await decide(api, check);
    t.equal(answer.decision, 'deny', code);
    t.ok(answer.reasons.some((r: { code: string }) => r.code === code), `reason ${code}`);
    t.same(answer.obligations.mask, {});
  }

  // Internal data: the Client domain's own pipeline reads it; confidential needs a grant.
  t.equal((await decide(api, { principal: ETL, resource: clients(['client_id']) })).decision, 'allow');
  t.equal((await decide(api, { principal: MARKET, resource: clients(['client_id']) })).decision, 'deny', 'internal data of another domain');
  const confidential = await decide(api, { principal: ETL, resource: clients(['first_name']) });
  t.equal(confidential.decision, 'deny');

  // Restricted ssn without a grant: denied, even to a member of its domain (masked needs at least
  // what a confidential column needs: the ladder in rego/README.md).
  const ungranted = await decide(api, { principal: ETL, resource: clients(['client_id', 'ssn']) });
  t.equal(ungranted.decision, 'deny');
  t.match(ungranted.reasons, [{ code: 'restricted_column', column: 'ssn' }]);

  // With an explicit, unexpired column grant for the declared purpose: ssn in clear.
  const grantId = await grant(api, { principal: ETL, columns: ['ssn'], purpose: 'kyc-review', expiresInSeconds: 3600 });
  await until(api, async () => (await decide(api, { principal: ETL, resource: clients(['ssn']), purpose: 'kyc-review' })).decision === 'allow');
  const clear = await decide(api, { principal: ETL, resource: clients(['ssn']), purpose: 'kyc-review' });
  t.match(clear, { decision: 'allow', obligations: { mask: {} }, grants: [grantId] });
  // For another purpose the grant still covers the column: masked (SSN: last 4, seed 001 §5.2).
  const masked = await decide(api, { principal: ETL, resource: clients(['client_id', 'ssn']), purpose: 'marketing' });
  t.match(masked, { decision: 'allow', grants: [grantId] }, 'another purpose stays masked');
  t.same(masked.obligations.mask, { ssn: { rule: 'ssn_last4', strategy: 'show_last', params: { visible: 4 } } });
  t.equal((await decide(api, { principal: ETL, resource: clients(['ssn']), purpose: 'kyc-review', action: 'delete' })).decision, 'deny', 'a SELECT grant does not allow delete');

  // The decision can be explained later.
  const explained = await api.call('GET', `/v1/access/decisions/${clear.decision_id}`, { as: 'auditor' });
  t.equal(explained.status, 200);
  t.match(explained.body, { input: { principal: ETL, purpose: 'kyc-review', resource: clients(['ssn']) }, result: { decision: 'allow', grants: [grantId] }, actor: 'test-pipeline' });
  t.equal((await api.call('GET', `/v1/access/decisions/${clear.decision_id}`, { as: 'pipeline' })).status, 200, 'the pipeline key that asked reads it (others: test/http/api-usability.test.ts)');
});

t.test('batch: up to 1,000 checks, each logged', async (t) => {
  const api = await ready(t);
  const checks = Array.from({ length: 300 }, (_, i) => ({
    principal: i % 3 === 0 ? STRANGER : MARKET,
    action: 'select',
    resource: { store: 'aurora', database: 'wealth', table: 'securities_master' },
    purpose: 'pricing',
  }));
  const response = await api.call('POST', '/v1/access/decisions:batch', { as: 'pipeline', body: { checks } });
  t.equal(response.status, 200);
  t.equal(response.body.results.length, 300);
  t.same(response.body.results.slice(0, 3).map((r: { decision: string }) => r.decision), ['deny', 'allow', 'allow']);
  t.equal(new Set(response.body.results.map((r: { decision_id: string }) => r.decision_id)).size, 300);
  const logged = await api.app.db('decision_log').where({ entrypoint: 'custos/access/decision' }).count('* as n').first();
  t.ok(Number(logged!.n) >= 300);
  const tooMany = await api.call('POST', '/v1/access/decisions:batch', { as: 'pipeline', body: { checks: Array.from({ length: 1001 }, () => checks[0]) } });
  t.equal(tooMany.status, 400);
});

t.test('fail closed: no engine or no catalog answers deny, and batches 503', async (t) => {
  const api = await testApp(t, { shippedBundle: null });
  const answer = await decide(api, { principal: MARKET, resource: { store: 'aurora', database: 'wealth', table: 'securities_master' } });
  t.match(answer, { decision: 'deny', reasons: [{ code: 'engine_unavailable' }], obligations: { mask: {} } });
  const batch = await api.call('POST', '/v1/access/decisions:batch', { as: 'pipeline', body: { checks: [{ principal: MARKET, action: 'select', resource: { store: 'aurora', database: 'wealth', table: 'x' }, purpose: 'p' }] } });
  t.equal(batch.status, 503);
});
