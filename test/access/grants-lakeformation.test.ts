import {
  GrantPermissionsCommand,
  LakeFormationClient,
  ListPermissionsCommand,
  PutDataLakeSettingsCommand,
  RevokePermissionsCommand,
  type PrincipalResourcePermissions,
} from '@aws-sdk/client-lakeformation';
import t from 'tap';
import { applyGrant, sweepExpiredGrants, type GrantJobContext } from '../../src/access/grants/index.js';
import { create, testApp, type TestApp, waitFor, createClientsTable } from '../helpers/app.js';
import { startFaultyProxy } from '../helpers/faulty-proxy.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';

const KYC = `arn:aws:iam::${MOTO_ACCOUNT}:role/kyc-analytics`;
const REPORTING = `arn:aws:iam::${MOTO_ACCOUNT}:role/wealth-reporting`;
const ROGUE = `arn:aws:iam::${MOTO_ACCOUNT}:role/shadow-etl`;
const LAKE_ADMIN = `arn:aws:iam::${MOTO_ACCOUNT}:role/lake-admin`;
const OWNER = 'owner.wealth@bank.example';
const STEWARD = 'steward.wealth@bank.example';

const grantIn = (api: TestApp, id: string, status: string) =>
  waitFor(async () => {
    const grant = (await api.call('GET', `/v1/access/grants/${id}`)).body;
    return grant.status === status ? grant : undefined;
  }, `grant ${id} to be ${status}`);

t.test('the grant workflow against Lake Formation (moto), end to end', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const lf = new LakeFormationClient(motoClient(moto.endpoint));
  t.teardown(() => lf.destroy());
  const permissionsOf = async (principal: string): Promise<PrincipalResourcePermissions[]> =>
    ((await lf.send(new ListPermissionsCommand({}))).PrincipalResourcePermissions ?? []).filter((p) => p.Principal?.DataLakePrincipalIdentifier === principal);

  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  const context: GrantJobContext = {
    db: api.app.db,
    log: api.app.log,
    awsEndpointUrl: moto.endpoint,
    awsMaxAttempts: 2,
    send: (queue, data, key) => api.app.jobs.send(queue, data, key),
  };

  // The estate: a source with Lake Formation, two principals, the wealth domain and wealth.clients.
  t.equal((await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name: 'wealth-lake', account_id: MOTO_ACCOUNT, region: 'us-east-1', services: ['lakeformation'] } })).status, 201);
  for (const [arn, name] of [[KYC, 'kyc-analytics'], [REPORTING, 'wealth-reporting']]) await create(api, '/v1/principals', { arn, name, kind: 'pipeline' }, 'steward');
  await createClientsTable(api, { owner: OWNER, steward: STEWARD });
  const stewardKey = (await create(api, '/v1/api-keys', { name: STEWARD, role: 'steward', subject: STEWARD })).key;

  // 1. Request SELECT on wealth.clients [ssn]; the requester cannot approve it, the domain's steward can.
  const requested = await api.call('POST', '/v1/access/requests', {
    as: 'compliance_officer',
    body: { principal: KYC, scope: 'table', database: 'wealth', table: 'clients', columns: ['ssn'], permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 30 },
  });
  t.equal(requested.status, 201, JSON.stringify(requested.body));
  const requestId = requested.body.id;
  const selfApproval = await api.call('POST', `/v1/access/requests/${requestId}/approve`, { as: 'compliance_officer', body: {} });
  t.equal(selfApproval.status, 403);
  t.match(selfApproval.body.detail, /made this request and may not approve it/);
  const approved = await api.call('POST', `/v1/access/requests/${requestId}/approve`, { key: stewardKey, body: { comment: 'KYC periodic review' } });
  t.equal(approved.status, 200, JSON.stringify(approved.body));
  t.equal(approved.body.decided_by, STEWARD);
  const grantId = approved.body.grant_id;

  const active = await grantIn(api, grantId, 'active');
  const expectedResource = { TableWithColumns: { DatabaseName: 'wealth', Name: 'clients', ColumnNames: ['ssn'] } };
  t.same(active.lake_formation.resource, expectedResource, 'the exact Lake Formation resource is recorded');
  t.equal(active.lake_formation.already_present, false);
  t.equal(active.aws_request_ids.length, 1);
  t.equal(active.aws_request_ids[0], active.lake_formation.grant_request_id);
  t.match(active.aws_request_ids[0], /\S{8,}/, 'moto answers with x-amzn-requestid');
  t.equal(active.last_error, null);
  let held = await permissionsOf(KYC);
  t.equal(held.length, 1, 'one permission in Lake Formation');
  t.same(held[0]!.Resource, expectedResource);
  t.same(held[0]!.Permissions, ['SELECT']);

  // 2. Applying again never grants twice: GrantPermissions is made to fail, and is not called.
  const noGrants = await startFaultyProxy(t, moto.endpoint, { failAlways: true, status: 400, match: ({ url }) => url.includes('GrantPermissions') });
  await api.app.db('access_grants').where({ id: grantId }).update({ status: 'pending_apply' });
  const again = await applyGrant({ ...context, awsEndpointUrl: noGrants.endpoint }, grantId);
  t.equal(again.outcome, 'already_present');
  t.equal(noGrants.faulted, 0, 'no GrantPermissions call');
  t.equal(again.grant!.status, 'active');
  t.same(again.grant!.aws_request_ids, active.aws_request_ids, 'no new AWS request id');
  held = await permissionsOf(KYC);
  t.equal(held.length, 1);
  t.same(held[0]!.Permissions, ['SELECT'], 'still one SELECT');
  t.equal((await applyGrant(context, grantId)).outcome, 'skipped', 'an active grant is left alone');

  const audit = async (entity: string, id: string) =>
    (await api.call('GET', `/v1/audit-log?entity=${entity}&entity_id=${id}&limit=100`, { as: 'auditor' })).body.items.map((e: { action: string; actor: string }) => `${e.action}:${e.actor}`).reverse();
  t.same(await audit('access-requests', requestId), ['create:test-compliance_officer', `approve:${STEWARD}`]);
  t.same((await audit('access-grants', grantId)).slice(0, 2), [`create:${STEWARD}`, 'apply:system:access-grants']);

  // 3. Expiry: the period ends, the sweep queues the revocation, Lake Formation loses the permission.
  await api.app.db('access_grants').where({ id: grantId }).update({ starts_at: api.app.db.raw("now() - interval '31 days'"), expires_at: api.app.db.raw("now() - interval '1 second'") });
  t.same((await sweepExpiredGrants(context)).expired, [grantId]);
  const expired = await grantIn(api, grantId, 'expired');
  t.same(expired.lake_formation.revoked_permissions, ['SELECT']);
  t.equal(expired.aws_request_ids.length, 2, 'the GrantPermissions and RevokePermissions request ids');
  t.same(await permissionsOf(KYC), [], 'gone from Lake Formation');
  const expiryTrail = await audit('access-grants', grantId);
  t.same(expiryTrail.slice(-2), ['expire:system:expiry', 'revoke:system:access-grants']);

  // 4. Revoke by API: a whole-table grant, approved by an admin, revoked by the domain steward.
  const second = await api.call('POST', '/v1/access/requests', {
    as: 'steward',
    body: { principal: REPORTING, scope: 'table', database: 'wealth', table: 'clients', permissions: ['SELECT', 'DESCRIBE'], purpose: 'monthly reporting', duration_days: 90 },
  });
  const secondGrant = (await api.call('POST', `/v1/access/requests/${second.body.id}/approve`, { as: 'admin', body: {} })).body.grant_id;
  const secondActive = await grantIn(api, secondGrant, 'active');
  t.same(secondActive.lake_formation.resource, { Table: { DatabaseName: 'wealth', Name: 'clients' } });
  t.same((await permissionsOf(REPORTING)).flatMap((p) => p.Permissions).sort(), ['DESCRIBE', 'SELECT']);
  t.equal((await api.call('POST', `/v1/access/grants/${secondGrant}/revoke`, { as: 'steward', body: {} })).status, 403, 'a steward of another domain');
  t.equal((await api.call('POST', `/v1/access/grants/${secondGrant}/revoke`, { as: 'auditor', body: {} })).status, 403);
  const revoking = await api.call('POST', `/v1/access/grants/${secondGrant}/revoke`, { key: stewardKey, body: { comment: 'reporting moved to the masked view' } });
  t.equal(revoking.status, 202);
  t.equal(revoking.body.status, 'pending_revoke');
  const revoked = await grantIn(api, secondGrant, 'revoked');
  t.equal(revoked.revoked_by, STEWARD);
  t.same(await permissionsOf(REPORTING), [], 'revoked in Lake Formation');
  t.same((await audit('access-grants', secondGrant)).slice(-2), [`revoke_requested:${STEWARD}`, 'revoke:system:access-grants']);

  // 5. Reconciliation: a permission granted behind Custos's back, and one removed behind its back.
  const third = await api.call('POST', '/v1/access/requests', {
    as: 'steward',
    body: { principal: REPORTING, scope: 'table', database: 'wealth', table: 'clients', permissions: ['SELECT'], purpose: 'quarterly reporting', duration_days: 30 },
  });
  const thirdGrant = (await api.call('POST', `/v1/access/requests/${third.body.id}/approve`, { key: stewardKey, body: {} })).body.grant_id;
  await grantIn(api, thirdGrant, 'active');
  await lf.send(new GrantPermissionsCommand({ Principal: { DataLakePrincipalIdentifier: ROGUE }, Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, Permissions: ['SELECT'] }));
  await lf.send(new PutDataLakeSettingsCommand({ DataLakeSettings: { DataLakeAdmins: [{ DataLakePrincipalIdentifier: LAKE_ADMIN }] } }));
  await lf.send(new GrantPermissionsCommand({ Principal: { DataLakePrincipalIdentifier: LAKE_ADMIN }, Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, Permissions: ['ALL'] }));

  const before = await api.call('POST', '/v1/access/reconcile', { as: 'compliance_officer', body: {} });
  t.equal(before.status, 200, JSON.stringify(before.body));
  t.same(before.body.unapproved, [{ principal: ROGUE, resource: { kind: 'table', database: 'wealth', table: 'clients' }, permissions: ['SELECT'], permissions_with_grant_option: [] }]);
  t.same(before.body.missing, []);
  t.match(before.body.counts, { active_grants: 1, ignored_admin_permissions: 1 });

  await lf.send(new RevokePermissionsCommand({ Principal: { DataLakePrincipalIdentifier: REPORTING }, Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, Permissions: ['SELECT'] }));
  const after = await api.call('POST', '/v1/access/reconcile', { as: 'admin', body: { source: 'wealth-lake' } });
  t.equal(after.status, 200);
  t.same(after.body.missing, [{ grant_id: thirdGrant, principal: REPORTING, resource: { kind: 'table', database: 'wealth', table: 'clients' }, permissions: ['SELECT'] }]);
  t.equal(after.body.unapproved.length, 1);
  t.ok(Date.parse(after.body.checked_at) <= Date.now());
});

t.test('a permission two grants share stays until the last of them is revoked; LF-tag policy grants', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const lf = new LakeFormationClient(motoClient(moto.endpoint));
  t.teardown(() => lf.destroy());
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  await create(api, '/v1/sources', { name: 'wealth-lake', account_id: MOTO_ACCOUNT, region: 'us-east-1', services: ['lakeformation'] });
  await create(api, '/v1/principals', { arn: KYC, name: 'kyc-analytics', kind: 'pipeline' });
  await create(api, '/v1/domains', { name: 'wealth', owner: OWNER, steward: STEWARD, review_frequency: 'quarterly' });
  await create(api, '/v1/assets', { store: 'glue', database: 'wealth', table: 'clients', domain: 'wealth', columns: [{ name: 'client_id', data_type: 'string', classification: 'confidential' }] });
  const body = { principal: KYC, scope: 'table', database: 'wealth', table: 'clients', permissions: ['SELECT'], duration_days: 10 };
  const grants: string[] = [];
  for (const purpose of ['kyc-review', 'aml-screening']) {
    const made = await api.call('POST', '/v1/access/requests', { as: 'steward', body: { ...body, purpose } });
    grants.push((await api.call('POST', `/v1/access/requests/${made.body.id}/approve`, { body: {} })).body.grant_id);
  }
  const [first, second] = await Promise.all(grants.map((id) => grantIn(api, id, 'active')));
  t.equal([first, second].filter((g) => g.lake_formation.already_present).length, 1, 'the second found it already there');
  const selects = async () => ((await lf.send(new ListPermissionsCommand({}))).PrincipalResourcePermissions ?? []).flatMap((p) => p.Permissions ?? []);

  await api.call('POST', `/v1/access/grants/${grants[0]}/revoke`, { as: 'compliance_officer', body: {} });
  const kept = await grantIn(api, grants[0]!, 'revoked');
  t.same(kept.lake_formation.retained_permissions, ['SELECT']);
  t.same(kept.lake_formation.revoked_permissions, []);
  t.same(await selects(), ['SELECT'], 'the other grant still needs it');

  await api.call('POST', `/v1/access/grants/${grants[1]}/revoke`, { as: 'compliance_officer', body: {} });
  await grantIn(api, grants[1]!, 'revoked');
  t.same(await selects(), [], 'revoked with the last grant');

  // An LF-tag expression has no owning domain: an admin approves. moto stores LFTagPolicy grants but
  // refuses them as a ListPermissions filter, so presence is read from the full listing.
  const tagged = await api.call('POST', '/v1/access/requests', {
    as: 'steward',
    body: { principal: KYC, scope: 'lf_tag', lf_tag_expression: [{ tag_key: 'domain', tag_values: ['wealth'] }, { tag_key: 'classification', tag_values: ['internal', 'public'] }], permissions: ['SELECT', 'DESCRIBE'], purpose: 'self-service analytics', duration_days: 14 },
  });
  t.equal(tagged.status, 201, JSON.stringify(tagged.body));
  const stewardKey = (await create(api, '/v1/api-keys', { name: STEWARD, role: 'steward', subject: STEWARD })).key;
  const byDomainSteward = await api.call('POST', `/v1/access/requests/${tagged.body.id}/approve`, { key: stewardKey, body: {} });
  t.equal(byDomainSteward.status, 403);
  t.match(byDomainSteward.body.detail, /only an admin may approve a request of scope lf_tag/);
  const tagGrant = (await api.call('POST', `/v1/access/requests/${tagged.body.id}/approve`, { body: {} })).body.grant_id;
  const tagActive = await grantIn(api, tagGrant, 'active');
  const policy = { LFTagPolicy: { ResourceType: 'TABLE', Expression: [{ TagKey: 'domain', TagValues: ['wealth'] }, { TagKey: 'classification', TagValues: ['internal', 'public'] }] } };
  t.same(tagActive.lake_formation.resource, policy);
  const listed = (await lf.send(new ListPermissionsCommand({}))).PrincipalResourcePermissions ?? [];
  t.same(listed.map((p) => p.Resource), [policy]);
  t.same(listed.flatMap((p) => p.Permissions ?? []).sort(), ['DESCRIBE', 'SELECT']);
  await api.app.db('access_grants').where({ id: tagGrant }).update({ status: 'pending_apply' });
  t.equal((await applyGrant({ db: api.app.db, log: api.app.log, awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 }, tagGrant)).outcome, 'already_present');
  await api.call('POST', `/v1/access/grants/${tagGrant}/revoke`, { as: 'admin', body: {} });
  await grantIn(api, tagGrant, 'revoked');
  t.same((await lf.send(new ListPermissionsCommand({}))).PrincipalResourcePermissions, [], 'revoked');
});
