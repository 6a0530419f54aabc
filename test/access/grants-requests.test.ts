import t from 'tap';
import { sweepExpiredGrants } from '../../src/access/grants/index.js';
import { CLOSED_ENDPOINT } from '../helpers/processes.js';
import { create, testApp, type TestApp, waitFor, createClientsTable } from '../helpers/app.js';
// Sets dummy AWS credentials: the SDK signs requests before it finds the port closed.
import '../helpers/moto.js';

// No AWS here: Lake Formation is a closed port, so every apply fails the way a down endpoint does.
const ACCOUNT = '111122223333';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/kyc-analytics`;
const OWNER = 'owner.wealth@bank.example';
const STEWARD = 'steward.wealth@bank.example';

async function key(api: TestApp, name: string, role = 'steward'): Promise<string> {
  // The domain names its owner and steward by subject: each key belongs to the subject of the same name.
  return (await create(api, '/v1/api-keys', { name, role, subject: name })).key;
}

async function setUp(t: Parameters<typeof testApp>[0]) {
  const closed = CLOSED_ENDPOINT;
  const api = await testApp(t, { config: { awsEndpointUrl: closed, awsMaxAttempts: 1 } });
  await create(api, '/v1/sources', { name: 'lake', account_id: ACCOUNT, region: 'us-east-1', services: ['lakeformation'] });
  await create(api, '/v1/principals', { arn: PRINCIPAL, name: 'kyc-analytics', kind: 'pipeline' });
  await createClientsTable(api, { owner: OWNER, steward: STEWARD });
  const keys = { owner: await key(api, OWNER), steward: await key(api, STEWARD) };
  return { api, keys };
}

const tableRequest = { principal: PRINCIPAL, scope: 'table', database: 'wealth', table: 'clients', columns: ['ssn'], permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 30 };

t.test('requests are checked against the registry and the catalog, field by field', async (t) => {
  const { api } = await setUp(t);
  const bad = async (body: object, field: string, detail: RegExp) => {
    const response = await api.call('POST', '/v1/access/requests', { as: 'steward', body });
    t.equal(response.status, 400, `${field}: ${JSON.stringify(response.body)}`);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(response.body.errors?.[0]?.field, field);
    t.match(response.body.detail, detail);
  };
  await bad({ ...tableRequest, principal: `arn:aws:iam::${ACCOUNT}:role/nobody` }, 'principal', /not a registered principal/);
  await bad({ ...tableRequest, table: 'accounts' }, 'table', /wealth\.accounts is not in the catalog/);
  await bad({ ...tableRequest, columns: ['ssn', 'pin'] }, 'columns[1]', /pin is not a column of wealth\.clients \(its columns: client_id, ssn\)/);
  await bad({ ...tableRequest, permissions: ['SELECT', 'INSERT'] }, 'permissions', /columns is for SELECT only/);
  await bad({ ...tableRequest, database: undefined }, 'database', /required with scope "table"/);
  await bad({ ...tableRequest, domain: 'wealth' }, 'domain', /only with scope "domain"/);
  await bad({ ...tableRequest, source: 'elsewhere' }, 'source', /no source is named "elsewhere"/);
  await bad({ principal: PRINCIPAL, scope: 'domain', domain: 'retail', permissions: ['SELECT'], purpose: 'x', duration_days: 1 }, 'domain', /no domain is named "retail"/);
  await bad({ principal: PRINCIPAL, scope: 'lf_tag', permissions: ['SELECT'], purpose: 'x', duration_days: 1 }, 'lf_tag_expression', /required/);
  await bad({ ...tableRequest, duration_days: 366 }, 'duration_days', /<= 365/);
  await bad({ ...tableRequest, purpose: '' }, 'purpose', /fewer than 1/);
  await bad({ ...tableRequest, permissions: ['ALL'] }, 'permissions[0]', /must be one of: SELECT, DESCRIBE, INSERT, DELETE/);

  // Two sources with lakeformation: the default is ambiguous.
  await create(api, '/v1/sources', { name: 'lake-eu', account_id: ACCOUNT, region: 'eu-west-1', services: ['lakeformation'] });
  await bad(tableRequest, 'source', /several enabled sources .*lake, lake-eu.*: name one/);
  const named = await api.call('POST', '/v1/access/requests', { as: 'steward', body: { ...tableRequest, source: 'lake-eu' } });
  t.equal(named.status, 201);
  t.equal(named.body.source, 'lake-eu');
  t.equal((await api.call('GET', `/v1/access/requests/${named.body.id}`)).body.source, 'lake-eu', 'the named source is kept');
  const approvedNamed = await api.call('POST', `/v1/access/requests/${named.body.id}/approve`, { body: {} });
  t.match((await api.call('GET', `/v1/access/grants/${approvedNamed.body.grant_id}`)).body.lake_formation.source, { name: 'lake-eu', region: 'eu-west-1' });
  t.equal((await api.call('POST', '/v1/access/requests', { as: 'auditor', body: tableRequest })).status, 403, 'auditors do not request');
});

t.test('only the owning domain (or an admin) decides, never the requester; a failed apply stays pending_apply with its error', async (t) => {
  const { api, keys } = await setUp(t);
  const made = await api.call('POST', '/v1/access/requests', { key: keys.owner, body: tableRequest });
  t.equal(made.status, 201);
  t.match(made.body, { status: 'pending', requester: OWNER, principal: PRINCIPAL, store: 'glue', table: 'clients', columns: ['ssn'], source: null, grant_id: null });
  const id = made.body.id;

  const own = await api.call('POST', `/v1/access/requests/${id}/approve`, { key: keys.owner, body: {} });
  t.equal(own.status, 403);
  t.match(own.body.detail, /owner\.wealth@bank\.example made this request and may not approve it/);
  const other = await api.call('POST', `/v1/access/requests/${id}/approve`, { as: 'steward', body: {} });
  t.equal(other.status, 403);
  t.match(other.body.detail, /only the owner \(owner\.wealth@bank\.example\) or steward \(steward\.wealth@bank\.example\) of domain wealth, or an admin/);
  t.equal((await api.call('POST', `/v1/access/requests/${id}/approve`, { as: 'auditor', body: {} })).status, 403);
  t.equal((await api.call('POST', `/v1/access/requests/${id}/withdraw`, { as: 'steward', body: {} })).status, 403, 'only the requester or an admin withdraws');
  t.equal((await api.call('POST', `/v1/access/requests/${id}/approve`, { key: keys.steward, body: {}, headers: { 'if-match': '"7"' } })).status, 412);

  const approved = await api.call('POST', `/v1/access/requests/${id}/approve`, { key: keys.steward, body: { comment: 'KYC review Q3' } });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.match(approved.body, { status: 'approved', decided_by: STEWARD, decision_comment: 'KYC review Q3' });
  t.equal(approved.headers.location, `/v1/access/grants/${approved.body.grant_id}`);
  t.equal((await api.call('POST', `/v1/access/requests/${id}/approve`, { key: keys.steward, body: {} })).status, 409, 'not pending any more');
  t.equal((await api.call('POST', `/v1/access/requests/${id}/reject`, { key: keys.steward, body: { comment: 'no' } })).status, 409);

  const grantId = approved.body.grant_id;
  const failed = await waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${grantId}`)).body;
    return grant.attempts >= 1 ? grant : undefined;
  }, 'the first apply attempt');
  t.equal(failed.status, 'pending_apply');
  t.match(failed.last_error, /^lakeformation:ListPermissions: .*ECONNREFUSED/);
  t.same(failed.aws_request_ids, []);
  t.match(failed.lake_formation, {
    source: { name: 'lake', account_id: ACCOUNT, region: 'us-east-1' },
    resource: { TableWithColumns: { DatabaseName: 'wealth', Name: 'clients', ColumnNames: ['ssn'] } },
    permissions: ['SELECT'],
  });
  const days = (Date.parse(failed.expires_at) - Date.parse(failed.starts_at)) / 86_400_000;
  t.equal(Math.round(days), 30);

  t.equal((await api.call('POST', `/v1/access/grants/${grantId}/retry`, { as: 'steward', body: {} })).status, 403);
  const retried = await api.call('POST', `/v1/access/grants/${grantId}/retry`, { as: 'compliance_officer', body: {} });
  t.equal(retried.status, 202);

  const audit = async (entity: string, entityId: string) =>
    (await api.call('GET', `/v1/audit-log?entity=${entity}&entity_id=${entityId}&limit=100`, { as: 'auditor' })).body.items.map((e: { action: string }) => e.action).reverse();
  t.same(await audit('access-requests', id), ['create', 'approve']);
  const grantActions = await audit('access-grants', grantId);
  t.same(grantActions.slice(0, 3), ['create', 'apply_failed', 'retry_apply'], grantActions.join(', '));
  const createdRow = (await api.call('GET', `/v1/audit-log?entity=access-requests&entity_id=${id}&action=create`, { as: 'auditor' })).body.items[0];
  t.match(createdRow, { actor: OWNER, new_value: { principal: PRINCIPAL, purpose: 'kyc-review', resolved_source: 'lake' } });

  // Revoking a grant that never reached Lake Formation is a revocation like any other.
  t.equal((await api.call('POST', `/v1/access/grants/${grantId}/revoke`, { as: 'steward', body: {} })).status, 403, 'a steward of no domain of this grant');
  const revoking = await api.call('POST', `/v1/access/grants/${grantId}/revoke`, { key: keys.owner, body: { comment: 'review finished' } });
  t.equal(revoking.status, 202);
  t.match(revoking.body, { status: 'pending_revoke', revoked_by: OWNER, lake_formation: { revocation: { reason: 'revoked', requested_by: OWNER, comment: 'review finished' } } });
  t.equal((await api.call('POST', `/v1/access/grants/${grantId}/revoke`, { key: keys.owner, body: {} })).status, 409);
  const stuck = await waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${grantId}`)).body;
    return /RevokePermissions|ListPermissions/.test(grant.last_error ?? '') && grant.attempts >= 2 ? grant : undefined;
  }, 'the revocation attempt');
  t.equal(stuck.status, 'pending_revoke', 'Lake Formation unreachable: not marked revoked on a guess');
});

t.test('reject, withdraw, domain grants, lists and the expiry sweep', async (t) => {
  const { api, keys } = await setUp(t);
  const request = async (body: object, as: 'steward' | 'compliance_officer' = 'compliance_officer') => {
    const response = await api.call('POST', '/v1/access/requests', { as, body });
    t.equal(response.status, 201, JSON.stringify(response.body));
    return response.body.id as string;
  };

  const rejectedId = await request(tableRequest);
  t.equal((await api.call('POST', `/v1/access/requests/${rejectedId}/reject`, { key: keys.owner, body: {} })).status, 400, 'a rejection says why');
  const rejected = await api.call('POST', `/v1/access/requests/${rejectedId}/reject`, { key: keys.owner, body: { comment: 'use the masked view' } });
  t.match(rejected.body, { status: 'rejected', decided_by: OWNER, decision_comment: 'use the masked view', grant_id: null });

  const withdrawnId = await request(tableRequest, 'steward');
  const withdrawn = await api.call('POST', `/v1/access/requests/${withdrawnId}/withdraw`, { as: 'steward', body: {} });
  t.equal(withdrawn.body.status, 'withdrawn');
  t.equal((await api.call('POST', `/v1/access/requests/${withdrawnId}/approve`, { as: 'admin', body: {} })).status, 409);

  // A domain grant has no Lake Formation resource: active without an AWS call (the port is closed).
  const domainId = await request({ principal: PRINCIPAL, scope: 'domain', domain: 'wealth', permissions: ['SELECT', 'DESCRIBE'], purpose: 'portfolio analytics', duration_days: 7 });
  const approved = await api.call('POST', `/v1/access/requests/${domainId}/approve`, { key: keys.steward, body: {} });
  t.equal(approved.status, 200);
  const grantId = approved.body.grant_id;
  const active = await waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${grantId}`)).body;
    return grant.status === 'active' ? grant : undefined;
  }, 'the domain grant');
  t.match(active, { scope: 'domain', domain: 'wealth', aws_request_ids: [], last_error: null, lake_formation: { source: null, resource: null, note: /Lake Formation has no domain resource/ } });

  const list = await api.call('GET', `/v1/access/requests?status=pending&principal=${encodeURIComponent(PRINCIPAL)}`, { as: 'auditor' });
  t.same(list.body.items.map((r: { id: string }) => r.id), []);
  const all = await api.call('GET', '/v1/access/requests?limit=2', { as: 'auditor' });
  t.equal(all.body.items.length, 2);
  t.ok(all.body.next_cursor);
  const rest = await api.call('GET', `/v1/access/requests?limit=2&cursor=${all.body.next_cursor}`, { as: 'auditor' });
  t.same([...all.body.items, ...rest.body.items].map((r: { status: string }) => r.status), ['rejected', 'withdrawn', 'approved']);
  t.equal(rest.body.next_cursor, null);
  t.same((await api.call('GET', '/v1/access/grants?status=active', { as: 'auditor' })).body.items.map((g: { id: string }) => g.id), [grantId]);
  t.same((await api.call('GET', '/v1/access/grants?table=clients', { as: 'auditor' })).body.items, []);
  t.equal((await api.call('GET', '/v1/access/grants', { as: 'pipeline' })).status, 403);
  t.equal((await api.call('GET', '/v1/access/grants/01900000-0000-7000-8000-000000000000')).status, 404);

  // Withdrawing an approved request revokes its grant.
  const laterId = await request({ principal: PRINCIPAL, scope: 'domain', domain: 'wealth', permissions: ['SELECT'], purpose: 'due diligence', duration_days: 3 });
  const laterGrant = (await api.call('POST', `/v1/access/requests/${laterId}/approve`, { key: keys.owner, body: {} })).body.grant_id;
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${laterGrant}`)).body.status === 'active' ? true : undefined), 'active');
  t.equal((await api.call('POST', `/v1/access/requests/${laterId}/withdraw`, { as: 'steward', body: {} })).status, 403, 'not the requester');
  const withdrawnApproved = await api.call('POST', `/v1/access/requests/${laterId}/withdraw`, { as: 'compliance_officer', body: { comment: 'deal cancelled' } });
  t.equal(withdrawnApproved.status, 200);
  t.equal(withdrawnApproved.body.status, 'withdrawn');
  const revokedByWithdrawal = await waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${laterGrant}`)).body;
    return grant.status === 'revoked' ? grant : undefined;
  }, 'revocation after withdrawal');
  t.match(revokedByWithdrawal.lake_formation.revocation, { reason: 'withdrawn', requested_by: 'test-compliance_officer', comment: 'deal cancelled' });

  // Expiry: the period ends, the sweep closes it (no Lake Formation call for a domain grant). The
  // context is the one the scheduled job gets (no `send`): it enqueues through the service's queue.
  await api.app.db('access_grants').where({ id: grantId }).update({ starts_at: api.app.db.raw("now() - interval '8 days'"), expires_at: api.app.db.raw("now() - interval '1 second'") });
  const context = { db: api.app.db, log: api.app.log, awsEndpointUrl: api.app.config.awsEndpointUrl, awsMaxAttempts: 1 };
  const swept = await sweepExpiredGrants(context);
  t.same(swept.expired, [grantId]);
  const expired = await waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${grantId}`)).body;
    return grant.status === 'expired' ? grant : undefined;
  }, 'expiry');
  t.match(expired, { revoked_by: 'system:expiry', lake_formation: { revocation: { reason: 'expired' } } });
  t.ok(expired.revoked_at);
  t.same((await sweepExpiredGrants(context)).expired, [], 'nothing left to expire');

  // Reconciliation needs Lake Formation: a closed port is a 503 with the reason.
  const reconcile = await api.call('POST', '/v1/access/reconcile', { as: 'compliance_officer', body: {} });
  t.equal(reconcile.status, 503);
  t.equal(reconcile.body.type, '/problems/lake-formation-unavailable');
  t.match(reconcile.body.detail, /could not be read: lakeformation:GetDataLakeSettings/);
  t.equal((await api.call('POST', '/v1/access/reconcile', { as: 'steward', body: {} })).status, 403);
  t.equal((await api.call('POST', '/v1/access/reconcile', { body: { source: 'nope' } })).status, 400);
});

t.test('every grant status change notifies the access-data runtime', async (t) => {
  const { api, keys } = await setUp(t);
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: api.databaseUrl });
  await client.connect();
  t.teardown(() => client.end());
  const heard: string[] = [];
  client.on('notification', (message) => {
    if (message.channel === 'custos_access_data') heard.push(message.payload ?? '');
  });
  await client.query('LISTEN custos_access_data');
  const made = await api.call('POST', '/v1/access/requests', { as: 'compliance_officer', body: { principal: PRINCIPAL, scope: 'domain', domain: 'wealth', permissions: ['SELECT'], purpose: 'x', duration_days: 1 } });
  const approved = await api.call('POST', `/v1/access/requests/${made.body.id}/approve`, { key: keys.owner, body: {} });
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${approved.body.grant_id}`)).body.status === 'active' ? true : undefined), 'active');
  await api.call('POST', `/v1/access/grants/${approved.body.grant_id}/revoke`, { as: 'compliance_officer', body: {} });
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${approved.body.grant_id}`)).body.status === 'revoked' ? true : undefined), 'revoked');
  await waitFor(async () => (heard.filter((p) => p === 'grants').length >= 4 ? true : undefined), 'four grant notifications', 3000);
  t.ok(heard.filter((p) => p === 'grants').length >= 4, `created, applied, revoke requested, revoked: ${heard.join(', ')}`);
});
