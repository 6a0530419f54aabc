import { GetPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { approvePending, create, testApp, waitFor } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoSkip, startMoto } from '../helpers/moto.js';
import { collectAndEvaluate, findingOf, publicBuckets, REGION, s3On } from '../remediation/helpers.js';

// moto answers GetCallerIdentity with its default account (123456789012) for plain credentials and
// with the role's account for credentials from AssumeRole, like AWS: so a source whose credentials
// reach another account than it is registered for is reproduced on moto, not faked.
const OTHER = '111111111111';
const ROLE_ACCOUNT = '222222222222';
const ROLE = `arn:aws:iam::${ROLE_ACCOUNT}:role/custos-collector`;

const source = (name: string, account_id: string, role_arn?: string, region = REGION) => ({ name, account_id, region, services: ['s3', 'iam'], ...(role_arn ? { role_arn } : {}) });

t.test('collection checks each source identity with STS and refuses a source whose credentials reach another account', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  await publicBuckets(moto.endpoint, ['wealth-public-site']);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });
  for (const body of [source('right', MOTO_ACCOUNT), source('mislabelled', OTHER), source('wrong-role', OTHER, ROLE, 'us-west-2'), source('assumed', ROLE_ACCOUNT, ROLE)]) {
    const created = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body });
    t.equal(created.status, 201, JSON.stringify(created.body));
  }
  const { run } = await collectAndEvaluate(api);
  t.equal(run.status, 'partial', 'a refused source leaves the run partial, never complete');
  const refusals = run.gaps.filter((g: string) => g.includes('identity check'));
  t.same(refusals.sort(), [
    `mislabelled/iam: identity check: the credentials reach account ${MOTO_ACCOUNT} (arn:aws:sts::${MOTO_ACCOUNT}:user/moto), not the source's account ${OTHER}; refused, nothing read or changed`,
    `mislabelled/s3: identity check: the credentials reach account ${MOTO_ACCOUNT} (arn:aws:sts::${MOTO_ACCOUNT}:user/moto), not the source's account ${OTHER}; refused, nothing read or changed`,
    `wrong-role/iam: identity check: the credentials reach account ${ROLE_ACCOUNT} (arn:aws:sts::${ROLE_ACCOUNT}:assumed-role/custos-collector/custos-collector), not the source's account ${OTHER}; refused, nothing read or changed`,
    `wrong-role/s3: identity check: the credentials reach account ${ROLE_ACCOUNT} (arn:aws:sts::${ROLE_ACCOUNT}:assumed-role/custos-collector/custos-collector), not the source's account ${OTHER}; refused, nothing read or changed`,
  ]);
  t.equal(run.gaps.length, refusals.length, JSON.stringify(run.gaps));
  t.notOk(run.counts['mislabelled/s3'], 'nothing collected for the mislabelled source');
  t.notOk(run.counts['wrong-role/s3']);
  t.match(run.counts['right/s3'], { resources: 1 });
  t.match(run.counts['assumed/iam'], { resources: 2 }, 'a role of the right account is collected');
  const resources = (await api.call('GET', `/v1/collections/${run.id}/resources?limit=500`)).body.items as Array<{ account: string }>;
  t.same([...new Set(resources.map((r) => r.account))].sort(), [MOTO_ACCOUNT, ROLE_ACCOUNT], `no resource is labelled ${OTHER}`);
});

t.test('remediation checks the identity before planning and before every step; a mislabelled source changes nothing', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const BUCKET = 'wealth-public-site';
  await publicBuckets(moto.endpoint, [BUCKET]);
  const s3 = s3On(moto.endpoint);
  t.teardown(() => s3.destroy());
  const blocked = () => s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })).then(() => true, () => false);
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsMaxAttempts: 2 } });

  // A finding of account OTHER (imported, as a correct earlier collection would have produced it) and
  // a source for OTHER whose default credentials in fact reach moto's account, where a bucket of the
  // same name is public. Without the check, the plan reads and the execution changes that bucket.
  const bucket = {
    type: 'AWS::S3::Bucket', id: BUCKET, account: OTHER, region: REGION,
    configuration: { acl_grants: [{ grantee_uri: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' }], policy_statements: [], public_access_block: null, encryption: null, versioning: 'Off', logging: null, lifecycle_rules: [] },
  };
  const imported = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: { resources: [bucket], findings: [], lake_formation: { permissions: [] } } } });
  t.equal(imported.status, 201, JSON.stringify(imported.body));
  const finding = await waitFor(() => findingOf(api, 's3.bucket_public_read', BUCKET), 'finding', 60_000);
  t.equal(finding.account, OTHER);
  const registered = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: source('other', OTHER) });
  t.equal(registered.status, 201);

  const refused = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: finding.id } });
  t.equal(refused.status, 409, JSON.stringify(refused.body));
  t.equal(refused.body.type, '/problems/identity-mismatch');
  t.match(refused.body.detail, new RegExp(`source other: identity check: the credentials reach account ${MOTO_ACCOUNT} .*not the source's account ${OTHER}`));
  t.equal(await blocked(), false, 'nothing changed');

  // A source right when planned, relabelled before execution: execution checks again (its drift
  // check reads AWS), and so does every step of the job (runStep), before anything is called.
  const right = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { ...source('right', MOTO_ACCOUNT), services: ['s3'] } });
  t.equal(right.status, 201);
  const { run } = await collectAndEvaluate(api);
  t.equal(run.status, 'partial', 'the source "other" is refused');
  const ours = (await api.call('GET', `/v1/findings?rule=s3.bucket_public_read&resource=${BUCKET}&limit=10`, { as: 'auditor' })).body.items.find((f: { account: string }) => f.account === MOTO_ACCOUNT);
  t.ok(ours, 'the finding of the right source');
  const planned = await api.call('POST', '/v1/remediations', { as: 'compliance_officer', body: { finding_id: ours.id } });
  t.equal(planned.status, 201, JSON.stringify(planned.body));
  const second = (await create(api, '/v1/api-keys', { role: 'compliance_officer', name: 'second-officer' })).key;
  t.equal((await api.call('POST', `/v1/remediations/${planned.body.id}/approve`, { key: second, body: {} })).status, 200);
  // Moving a source to another account stops collection from its own: a second officer approves it.
  const relabelled = await api.call('PATCH', `/v1/sources/${right.body.id}`, { as: 'compliance_officer', body: { account_id: '333333333333' }, headers: { 'if-match': `"${right.body.version}"` } });
  await approvePending(api, relabelled, { key: second });
  const executed = await api.call('POST', `/v1/remediations/${planned.body.id}/execute`, { as: 'compliance_officer', body: {} });
  t.equal(executed.status, 409, JSON.stringify(executed.body));
  t.equal(executed.body.type, '/problems/identity-mismatch');
  t.equal(await blocked(), false, 'the bucket of the account the credentials reach was not changed');
});
