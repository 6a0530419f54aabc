/**
 * Issue 13: a principal with no grant and no domain membership was denied internal and confidential
 * columns but allowed restricted ones masked. Masked access to a restricted column now needs at
 * least what a confidential column needs: a grant covering it (rego/README.md, the access ladder).
 * Through the API, with the committed bundle and the demo catalog.
 */
import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { loadDemoData } from '../../src/demo/load.js';
import { approvePending, testApp, until, type TestApp } from '../helpers/app.js';

const OUTSIDER = 'arn:aws:iam::111122223333:role/outsider';
const MEMBER = 'arn:aws:iam::111122223333:role/client-etl';
const clients = (columns: string[]) => ({ store: 'aurora', database: 'wealth', table: 'clients', columns });
const SSN_MASK = { rule: 'ssn_last4', strategy: 'show_last', params: { visible: 4 } };

async function decide(api: TestApp, principal: string, columns: string[]) {
  const r = await api.call('POST', '/v1/access/decisions', { as: 'pipeline', body: { principal, action: 'select', purpose: 'reporting', resource: clients(columns) } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}

/** An approved table grant on clients, as the grant workflow records it. */
async function grant(api: TestApp, principal: string, columns: string[]) {
  const values = { principal, scope: 'table', store: 'aurora', database: 'wealth', table_name: 'clients', columns: JSON.stringify(columns), permissions: JSON.stringify(['SELECT']), purpose: 'quarterly-report' };
  const requestId = uuidv7();
  await api.app.db('access_requests').insert({ id: requestId, requester: 'test', requester_subject: 'test', duration_days: 30, status: 'approved', ...values });
  const id = uuidv7();
  await api.app.db('access_grants').insert({ id, request_id: requestId, starts_at: new Date(Date.now() - 60_000), expires_at: new Date(Date.now() + 3600_000), status: 'active', ...values });
  await api.app.db.raw("SELECT pg_notify('custos_access_data', 'grants')");
  return id;
}

t.test('the ladder through the API: restricted columns are never easier to reach than confidential ones', async (t) => {
  const api = await testApp(t);
  await loadDemoData(api.app.db);
  await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: OUTSIDER, name: 'outsider', kind: 'pipeline' } });
  await approvePending(api, await api.call('POST', '/v1/principals', { as: 'steward', body: { arn: MEMBER, name: 'client-etl', kind: 'pipeline', domain: 'Client' } }));
  await until(async () => (await decide(api, MEMBER, ['client_id'])).decision === 'allow' && !(await decide(api, OUTSIDER, ['client_id'])).reasons.some((r: any) => r.code === 'unknown_principal'), 'principals loaded');

  // No grant, no domain: internal, confidential and restricted all denied (restricted was allowed masked).
  for (const column of ['client_id', 'first_name', 'ssn', 'date_of_birth']) {
    const answer = await decide(api, OUTSIDER, [column]);
    t.equal(answer.decision, 'deny', `outsider: ${column}`);
    t.same(answer.obligations.mask, {});
  }
  const ssn = await decide(api, OUTSIDER, ['ssn']);
  t.match(ssn.reasons, [{ code: 'restricted_column', column: 'ssn', message: /or one covering table aurora\/wealth\/clients or domain Client to read it masked by rule ssn_last4/ }]);

  // A domain member without a grant: internal only.
  t.equal((await decide(api, MEMBER, ['client_id'])).decision, 'allow');
  t.equal((await decide(api, MEMBER, ['first_name'])).decision, 'deny', 'member: confidential');
  t.equal((await decide(api, MEMBER, ['ssn'])).decision, 'deny', 'member: restricted');

  // A grant on other columns covers neither.
  await grant(api, OUTSIDER, ['last_name']);
  await until(async () => (await decide(api, OUTSIDER, ['last_name'])).decision === 'allow', 'grant loaded');
  t.equal((await decide(api, OUTSIDER, ['first_name'])).decision, 'deny');
  t.equal((await decide(api, OUTSIDER, ['ssn'])).decision, 'deny');

  // A grant covering the whole table: confidential in clear, restricted masked, the grant named.
  const whole = await grant(api, OUTSIDER, []);
  await until(async () => (await decide(api, OUTSIDER, ['first_name'])).decision === 'allow', 'table grant loaded');
  const masked = await decide(api, OUTSIDER, ['first_name', 'ssn']);
  t.match(masked, { decision: 'allow', obligations: { mask: { ssn: SSN_MASK } }, grants: [whole] });
  t.same(Object.keys(masked.obligations.mask), ['ssn']);
});
