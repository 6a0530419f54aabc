import { AddLFTagsToResourceCommand, CreateLFTagCommand, GrantPermissionsCommand, LakeFormationClient } from '@aws-sdk/client-lakeformation';
import t from 'tap';
import { create, createClientsTable, testApp, type TestApp, waitFor } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';

/**
 * Issue 11, reproduction 5: Lake Formation permissions granted through LF-tag policies are judged
 * like named grants (against the LF-tags collected on restricted tables and columns), and only
 * grants `active` or `pending_apply` count as approved (not `pending_revoke`).
 */
const KYC = `arn:aws:iam::${MOTO_ACCOUNT}:role/kyc-analytics`;
const SSN = `${KYC}:wealth.clients.ssn`;

const collectAndEvaluate = async (api: TestApp) => {
  const started = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: {} });
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'run', 60_000);
  const evaluation = await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation', 60_000);
  return { run, evaluation };
};

const reevaluate = async (api: TestApp, runId: string) => {
  const queued = await api.call('POST', '/v1/evaluations', { as: 'compliance_officer', body: { collection_id: runId } });
  return waitFor(async () => {
    const e = (await api.call('GET', `/v1/evaluations/${queued.body.id}`)).body;
    return e.status === 'complete' ? e : undefined;
  }, 'evaluation', 60_000);
};

const ssnFinding = async (api: TestApp) => (await api.call('GET', '/v1/findings?rule=lakeformation.restricted_column_grant&limit=500', { as: 'auditor' })).body.items.find((f: { resource_id: string }) => f.resource_id === SSN);

t.test('an LF-tag policy reaching a restricted column is judged like a named grant', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const lf = new LakeFormationClient(motoClient(moto.endpoint));
  t.teardown(() => lf.destroy());
  // In Lake Formation: wealth.clients is tagged classification=restricted; KYC may SELECT every table so tagged.
  await lf.send(new CreateLFTagCommand({ TagKey: 'classification', TagValues: ['internal', 'confidential', 'restricted'] }));
  await lf.send(new AddLFTagsToResourceCommand({ Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, LFTags: [{ TagKey: 'classification', TagValues: ['restricted'] }] }));
  // moto answers GetResourceLFTags of a database that has no tag with HTTP 500 (AWS answers an empty list): tag it.
  await lf.send(new CreateLFTagCommand({ TagKey: 'domain', TagValues: ['wealth'] }));
  await lf.send(new AddLFTagsToResourceCommand({ Resource: { Database: { Name: 'wealth' } }, LFTags: [{ TagKey: 'domain', TagValues: ['wealth'] }] }));
  const expression = [{ TagKey: 'classification', TagValues: ['restricted'] }];
  await lf.send(new GrantPermissionsCommand({ Principal: { DataLakePrincipalIdentifier: KYC }, Resource: { LFTagPolicy: { ResourceType: 'TABLE', Expression: expression } }, Permissions: ['SELECT'] }));

  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  await create(api, '/v1/sources', { name: 'wealth-lake', account_id: MOTO_ACCOUNT, region: 'us-east-1', services: ['lakeformation'] });
  await create(api, '/v1/principals', { arn: KYC, name: 'kyc-analytics', kind: 'pipeline' });
  await createClientsTable(api, { owner: 'owner.wealth@bank.example', steward: 'steward.wealth@bank.example' });

  const first = await collectAndEvaluate(api);
  t.equal(first.run.status, 'complete', JSON.stringify(first.run.gaps));
  const assignments = (await api.call('GET', `/v1/collections/${first.run.id}/resources?kind=setting&type=lakeformation.lf_tag_assignments`)).body.items[0].data.value;
  t.ok(assignments.some((a: { table?: string; lf_tags_on_table?: unknown }) => a.table === 'clients'), 'the catalogued table\'s LF-tags were collected');
  const finding = await ssnFinding(api);
  t.match(finding, { status: 'open', severity: 'critical' }, 'the LF-tag policy exposes the restricted ssn column');
  t.match(finding.msg, /can SELECT restricted column wealth.clients.ssn through an LF-tag policy without an approved grant/);

  // An admin approves the same expression for KYC: applied (already present), the policy is approved.
  const requested = await api.call('POST', '/v1/access/requests', {
    as: 'steward',
    body: { principal: KYC, scope: 'lf_tag', lf_tag_expression: [{ tag_key: 'classification', tag_values: ['restricted'] }], permissions: ['SELECT'], purpose: 'kyc-review', duration_days: 30 },
  });
  t.equal(requested.status, 201, JSON.stringify(requested.body));
  const grantId = (await api.call('POST', `/v1/access/requests/${requested.body.id}/approve`, { body: {} })).body.grant_id;
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${grantId}`)).body.status === 'active' ? true : undefined), 'grant active');
  const second = await collectAndEvaluate(api);
  t.match(await ssnFinding(api), { status: 'resolved' }, 'approved access is not a finding');

  // A grant being revoked no longer approves anything: the same run, evaluated again, reopens it.
  await api.app.db('access_grants').where({ id: grantId }).update({ status: 'pending_revoke' });
  await reevaluate(api, second.run.id);
  t.match(await ssnFinding(api), { status: 'open' }, 'pending_revoke is not approved');
  await api.app.db('access_grants').where({ id: grantId }).update({ status: 'pending_apply' });
  await reevaluate(api, second.run.id);
  t.match(await ssnFinding(api), { status: 'resolved' }, 'pending_apply is approved (being applied)');
});
