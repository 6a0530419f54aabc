import { GrantPermissionsCommand, LakeFormationClient, ListPermissionsCommand, PutDataLakeSettingsCommand } from '@aws-sdk/client-lakeformation';
import t from 'tap';
import { approvePending, create, testApp, waitFor, createClientsTable } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient, motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate, findingOf, registerSource, remediationIn } from './helpers.js';

const ROGUE = `arn:aws:iam::${MOTO_ACCOUNT}:role/shadow-etl`;
const LAKE_ADMIN = `arn:aws:iam::${MOTO_ACCOUNT}:role/lake-admin`;

t.test('a Lake Formation permission without an approved grant is revoked, and the rollback grants it again', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const lf = new LakeFormationClient(motoClient(moto.endpoint));
  t.teardown(() => lf.destroy());
  await lf.send(new PutDataLakeSettingsCommand({ DataLakeSettings: { DataLakeAdmins: [{ DataLakePrincipalIdentifier: LAKE_ADMIN }] } }));
  await lf.send(new GrantPermissionsCommand({ Principal: { DataLakePrincipalIdentifier: ROGUE }, Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, Permissions: ['SELECT'] }));
  const held = async () => ((await lf.send(new ListPermissionsCommand({}))).PrincipalResourcePermissions ?? []).filter((p) => p.Principal?.DataLakePrincipalIdentifier === ROGUE);

  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  await createClientsTable(api, { owner: 'owner@bank.example', steward: 'steward@bank.example' });
  await registerSource(api, ['lakeformation'], 'wealth-lake');
  await collectAndEvaluate(api);
  const finding = await findingOf(api, 'lakeformation.restricted_column_grant', `${ROGUE}:wealth.clients.ssn`);
  t.match(finding, { status: 'open', severity: 'critical' });

  const planned = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: finding.id } });
  t.equal(planned.status, 201, JSON.stringify(planned.body));
  t.match(planned.body, { action: 'lakeformation_revoke', risk: 'high', approval_required: true });
  t.same(planned.body.resources[0].before, {
    principal: ROGUE,
    column: 'wealth.clients.ssn',
    read_permissions: [{ resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, permissions: ['SELECT'] }],
  });
  t.same(planned.body.resources[0].after.read_permissions, []);
  t.equal((await held()).length, 1, 'planning revoked nothing');

  const id = planned.body.id;
  t.equal((await api.call('POST', `/v1/remediations/${id}/approve`, { as: 'admin', body: { comment: 'no approved grant' } })).status, 200);
  t.equal((await api.call('POST', `/v1/remediations/${id}/execute`, { as: 'compliance_officer', body: {} })).status, 202);
  const done = await remediationIn(api, id, ['verified', 'failed', 'partially_applied']);
  t.equal(done.status, 'verified', JSON.stringify(done.resources));
  t.same(await held(), [], 'the permission is gone from Lake Formation');
  t.match(done.resources[0].aws_request_ids, [/\S{8,}/], 'the RevokePermissions request id');

  await approvePending(api, await api.call('POST', `/v1/remediations/${id}/rollback`, { as: 'admin', body: {} }), { as: 'compliance_officer' });
  t.equal((await remediationIn(api, id, ['rolled_back', 'rollback_failed'])).status, 'rolled_back');
  t.match(await held(), [{ Resource: { Table: { DatabaseName: 'wealth', Name: 'clients' } }, Permissions: ['SELECT'] }], 'granted again as it was');

  // Once an approved grant covers the column, the (now stale) finding is not revoked: evaluate again instead.
  await create(api, '/v1/principals', { arn: ROGUE, name: 'shadow-etl', kind: 'pipeline' }, 'steward');
  const steward = (await create(api, '/v1/api-keys', { name: 'steward@bank.example', role: 'steward', subject: 'steward@bank.example' })).key;
  const request = await api.call('POST', '/v1/access/requests', {
    as: 'compliance_officer',
    body: { principal: ROGUE, scope: 'table', database: 'wealth', table: 'clients', columns: ['ssn'], permissions: ['SELECT'], purpose: 'fraud model', duration_days: 30 },
  });
  const decided = await api.call('POST', `/v1/access/requests/${request.body.id}/approve`, { key: steward, body: {} });
  t.equal(decided.status, 200, JSON.stringify(decided.body));
  await waitFor(async () => ((await api.call('GET', `/v1/access/grants/${decided.body.grant_id}`)).body.status === 'active' ? true : undefined), 'grant active');
  const stale = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: finding.id } });
  t.equal(stale.status, 409);
  t.match(stale.body.detail, /has an active approved grant .* for wealth.clients.ssn: evaluate again rather than revoke/);
});
