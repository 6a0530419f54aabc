/**
 * Issue 13: a pipeline key could ask about any principal and so enumerate the catalog. A pipeline
 * key may now be bound to principals at creation (POST /v1/api-keys `principals`) and then asks
 * access decisions (single, batch, and the access entrypoint through POST /v1/decisions) about
 * those only. Rotation keeps the binding; widening it waits for a second admin; all of it is audited.
 */
import t, { type Test } from 'tap';
import { approvePending, create, handOver, testApp, type TestApp } from '../helpers/app.js';

const MINE = 'arn:aws:iam::111122223333:role/analytics-etl';
const OTHER = 'arn:aws:iam::111122223333:role/payments-etl';
const check = (principal: string) => ({ principal, action: 'select', purpose: 'reporting', resource: { store: 'aurora', database: 'wealth', table: 'clients' } });

const decide = (api: TestApp, key: string, principal: string) => api.call('POST', '/v1/access/decisions', { key, body: check(principal) });

function refused(t: Test, response: { status: number; headers: Record<string, any>; body: any }, field: string, what: string) {
  t.equal(response.status, 403, `${what}: 403`);
  t.match(response.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.match(response.body, { type: '/problems/forbidden', errors: [{ location: 'body', field }] }, `${what}: names ${field}`);
}

t.test('a bound pipeline key asks only about its principals', async (t) => {
  const api = await testApp(t);
  const bound = await create(api, '/v1/api-keys', { role: 'pipeline', name: 'analytics-etl', principals: [MINE, MINE] });
  t.same(bound.principals, [MINE], 'stored once');

  t.equal((await decide(api, bound.key, MINE)).status, 200, 'its own principal');
  t.match((await api.call('GET', '/v1/session', { key: bound.key })).body, { role: 'pipeline', principals: [MINE] }, 'the key can read its binding');
  t.match((await api.call('GET', '/v1/session', { as: 'pipeline' })).body, { principals: null });
  const before = Number((await api.app.db('decision_log').count('* as n').first())!.n);
  refused(t, await decide(api, bound.key, OTHER), 'principal', 'another principal');

  const batch = await api.call('POST', '/v1/access/decisions:batch', { key: bound.key, body: { checks: [check(MINE), check(OTHER)] } });
  refused(t, batch, 'checks[1].principal', 'batch');
  t.match(batch.body.detail, /checks\[1\]\.principal/);

  // The same question through the generic policy endpoint is refused too.
  const generic = await api.call('POST', '/v1/decisions', { key: bound.key, body: { entrypoint: 'custos/access/decision', input: { ...check(OTHER), now: 1 } } });
  refused(t, generic, 'input.principal', 'POST /v1/decisions');
  t.equal((await api.call('POST', '/v1/decisions', { key: bound.key, body: { entrypoint: 'custos/access/decision', input: { ...check(MINE), now: 1 } } })).status, 200);
  t.equal(Number((await api.app.db('decision_log').count('* as n').first())!.n), before + 1, 'refused questions are neither decided nor logged');

  // An unbound pipeline key (created without principals, like every key before 023) still asks about
  // anyone, and is listed for review.
  t.equal((await decide(api, api.keys.pipeline, OTHER)).status, 200);
  const unbound = await api.call('GET', '/v1/api-keys?unbound=true', { as: 'auditor' });
  t.same(unbound.body.items.map((k: any) => [k.name, k.principals]), [['test-pipeline', null]]);
  t.same((await api.call('GET', '/v1/api-keys?unbound=false', { as: 'auditor' })).body.items.map((k: any) => k.name), ['analytics-etl']);

  // Only pipeline keys are bound; principals are IAM ARNs.
  const steward = await api.call('POST', '/v1/api-keys', { body: { role: 'steward', name: 's', principals: [MINE] } });
  t.match(steward, { status: 400, body: { errors: [{ field: 'principals' }] } });
  t.equal((await api.call('POST', '/v1/api-keys', { body: { role: 'pipeline', name: 'p', principals: ['not-an-arn'] } })).status, 400);
  t.equal((await api.call('POST', '/v1/api-keys', { body: { role: 'pipeline', name: 'p', principals: [] } })).status, 400);

  // The binding is in the audit log.
  const audit = await api.call('GET', `/v1/audit-log?entity=api-keys&entity_id=${bound.id}&action=create`, { as: 'auditor' });
  t.same(audit.body.items[0].new_value.principals, [MINE]);

  // Rotation keeps the binding.
  const rotated = await api.call('POST', `/v1/api-keys/${bound.id}/rotate`, { body: {} });
  t.equal(rotated.status, 201);
  t.same(rotated.body.principals, [MINE]);
  refused(t, await decide(api, rotated.body.key, OTHER), 'principal', 'rotated key');
  t.equal((await decide(api, rotated.body.key, MINE)).status, 200);
});

t.test('changing a binding: narrowing applies at once, widening waits for a second admin', async (t) => {
  const api = await testApp(t);
  const bob = await create(api, '/v1/api-keys', { role: 'admin', name: 'second-admin', subject: 'bob@bank.example' });
  await handOver(api, bob.id); // Bob's key, not one the proposing admin kept (src/auth/identity.ts)
  const secondAdmin = bob.key as string;
  const key = await create(api, '/v1/api-keys', { role: 'pipeline', name: 'etl', principals: [MINE, OTHER] });
  const bind = (principals: string[] | null, opts: { key?: string; headers?: Record<string, string> } = {}) => api.call('PUT', `/v1/api-keys/${key.id}/principals`, { ...opts, body: { principals } });

  // Narrowing: at once, and the key is refused what it lost.
  const narrowed = await bind([MINE]);
  t.equal(narrowed.status, 200);
  t.same(narrowed.body.principals, [MINE]);
  refused(t, await decide(api, key.key, OTHER), 'principal', 'after narrowing');

  // Widening: pending until another admin approves; meanwhile the key is still refused.
  const widened = await bind([MINE, OTHER]);
  t.equal(widened.status, 202, JSON.stringify(widened.body));
  t.match(widened.body, { status: 'pending', kind: 'api-keys.set_principals', entity: 'api-keys', entity_id: key.id, reasons: [/may then ask about principal arn:aws:iam::111122223333:role\/payments-etl/] });
  refused(t, await decide(api, key.key, OTHER), 'principal', 'while pending');
  const self = await api.call('POST', `${widened.headers.location}/approve`, { body: {} });
  t.equal(self.status, 403, 'the proposer does not approve');
  await approvePending(api, widened, { key: secondAdmin });
  t.equal((await decide(api, key.key, OTHER)).status, 200, 'approved by a second admin');

  // Unbinding widens too; an admin may break glass, flagged.
  const unbind = await bind(null);
  t.equal(unbind.status, 202);
  t.match(unbind.body.reasons, [/is unbound: it may then ask access decisions about any principal/]);
  await api.call('POST', `${unbind.headers.location}/withdraw`, { body: {} });
  const glass = await bind(null, { headers: { 'x-break-glass-reason': 'incident 42: pipeline re-platforming tonight' } });
  t.equal(glass.status, 200);
  t.equal(glass.body.principals, null);

  // Binding an unbound key narrows it: at once. A non-pipeline key is never bound.
  t.equal((await bind([MINE])).status, 200);
  const admin = (await api.call('GET', '/v1/api-keys?role=admin', { as: 'auditor' })).body.items[0];
  t.match(await api.call('PUT', `/v1/api-keys/${admin.id}/principals`, { body: { principals: [MINE] } }), { status: 400, body: { errors: [{ field: 'principals' }] } });

  // Every change is in the audit log with the old and the new binding.
  const audit = await api.call('GET', `/v1/audit-log?entity=api-keys&entity_id=${key.id}&action=set_principals`, { as: 'auditor' });
  t.same(
    audit.body.items.map((e: any) => [e.old_value.principals, e.new_value.principals, e.break_glass_reason]).reverse(),
    [
      [[MINE, OTHER], [MINE], null],
      [[MINE], [MINE, OTHER], null],
      [[MINE, OTHER], null, 'incident 42: pipeline re-platforming tonight'],
      [null, [MINE], null],
    ],
  );
});
